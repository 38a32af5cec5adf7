//! Numeric kernels: a vectorisable dot product, bounded top-N selection and a small
//! Cholesky solver for fold-in.

use std::cmp::Ordering;

use wide::f32x4;

/// Floats per loop step: four 4-lane vectors, so four independent accumulator chains hide the
/// latency of the additions.
const STEP: usize = 16;

/// Dot product in explicit 4-lane vectors (`wide`: SSE2 natively, `simd128` on wasm32 when
/// that target feature is enabled, plain arrays otherwise), with four accumulators.
///
/// The order of every addition is fixed, so native and wasm results agree bit for bit. Left to
/// itself, LLVM vectorised the plain-array version of this loop poorly: two lanes wide, or
/// across rows with strided loads once inlined into a loop over rows.
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (ca, ta) = a[..n].as_chunks::<STEP>();
    let (cb, tb) = b[..n].as_chunks::<STEP>();
    let mut acc = [f32x4::ZERO; 4];
    for (x, y) in ca.iter().zip(cb) {
        let (x, y) = (x.as_chunks::<4>().0, y.as_chunks::<4>().0);
        for v in 0..4 {
            acc[v] += f32x4::new(x[v]) * f32x4::new(y[v]);
        }
    }
    let tail: f32 = ta.iter().zip(tb).map(|(x, y)| x * y).sum();
    let lanes = (((acc[0] + acc[1]) + acc[2]) + acc[3]).to_array();
    ((lanes[0] + lanes[2]) + (lanes[1] + lanes[3])) + tail
}

/// Rows scored per block: a block's scores stay in L1 while they are selected from, and the
/// selection logic runs once per candidate that can still enter the top N, not once per row.
pub(crate) const BLOCK: usize = 256;

/// How [`for_each_block_with`] scores one stored row (values of type `T`) against the query;
/// `r` counts rows from the start of the rows handed to the loop.
pub(crate) trait RowScorer<T> {
    /// A row of one of the common dimensions, a constant `D`: the dot product is fully unrolled
    /// with the query kept in registers.
    fn fixed<const D: usize>(&mut self, query: &[f32; D], r: usize, row: &[T; D]) -> f32;
    /// A row of any length.
    fn any(&mut self, query: &[f32], r: usize, row: &[T]) -> f32;
}

/// f32 rows: [`dot`].
struct Plain;

impl RowScorer<f32> for Plain {
    #[inline(always)]
    fn fixed<const D: usize>(&mut self, query: &[f32; D], _: usize, row: &[f32; D]) -> f32 {
        dot(query, row)
    }

    #[inline(always)]
    fn any(&mut self, query: &[f32], _: usize, row: &[f32]) -> f32 {
        dot(query, row)
    }
}

/// Rows stored in another form (int8 with a scale, f16): `decode(r, row, out)` writes row `r`
/// as f32 into `out`, which is then scored with [`dot`], so the scores are bit-identical to
/// decoding every row first. Each row is decoded into a buffer on the stack and scored at once:
/// the decoded values stay in registers and L1 instead of going through a block-sized scratch
/// buffer (64 KB at d = 64, more than L1 holds).
pub(crate) struct Decoded<F> {
    decode: F,
    /// The buffer for rows of a length that is not a constant, grown on first use.
    buf: Vec<f32>,
}

impl<F> Decoded<F> {
    pub(crate) fn new(decode: F) -> Self {
        Self { decode, buf: Vec::new() }
    }
}

impl<T, F: Fn(usize, &[T], &mut [f32])> RowScorer<T> for Decoded<F> {
    #[inline(always)]
    fn fixed<const D: usize>(&mut self, query: &[f32; D], r: usize, row: &[T; D]) -> f32 {
        let mut decoded = [0f32; D];
        (self.decode)(r, row, &mut decoded);
        dot(query, &decoded)
    }

    #[inline(always)]
    fn any(&mut self, query: &[f32], r: usize, row: &[T]) -> f32 {
        self.buf.resize(query.len(), 0.0);
        (self.decode)(r, row, &mut self.buf);
        dot(query, &self.buf)
    }
}

/// Calls `f(first, dots)` for consecutive blocks of at most [`BLOCK`] rows of `rows` (`dim`
/// values each), where `dots[k]` is `scorer`'s score of row `first + k`. The common dimensions
/// (16, 32, 64, 128) get a copy of the loop where the row length is a constant.
#[inline]
pub(crate) fn for_each_block_with<T, S: RowScorer<T>>(
    scorer: &mut S,
    query: &[f32],
    rows: &[T],
    dim: usize,
    mut f: impl FnMut(usize, &[f32]),
) {
    #[inline(always)]
    fn fixed<const D: usize, T, S: RowScorer<T>>(
        scorer: &mut S,
        query: &[f32],
        rows: &[T],
        f: &mut impl FnMut(usize, &[f32]),
    ) -> bool {
        let Ok(query) = <&[f32; D]>::try_from(query) else {
            return false;
        };
        let mut dots = [0.0f32; BLOCK];
        for (b, block) in rows.as_chunks::<D>().0.chunks(BLOCK).enumerate() {
            for (k, (out, row)) in dots.iter_mut().zip(block).enumerate() {
                *out = scorer.fixed(query, b * BLOCK + k, row);
            }
            f(b * BLOCK, &dots[..block.len()]);
        }
        true
    }
    let done = match dim {
        16 => fixed::<16, T, S>(scorer, query, rows, &mut f),
        32 => fixed::<32, T, S>(scorer, query, rows, &mut f),
        64 => fixed::<64, T, S>(scorer, query, rows, &mut f),
        128 => fixed::<128, T, S>(scorer, query, rows, &mut f),
        _ => false,
    };
    if !done && dim > 0 {
        let mut dots = [0.0f32; BLOCK];
        for (b, block) in rows.chunks(BLOCK * dim).enumerate() {
            let block = block.chunks_exact(dim);
            let len = block.len();
            for (k, (out, row)) in dots.iter_mut().zip(block).enumerate() {
                *out = scorer.any(query, b * BLOCK + k, row);
            }
            f(b * BLOCK, &dots[..len]);
        }
    }
}

/// [`for_each_block_with`] over f32 rows: `dots[k] = dot(query, row first + k)`.
#[inline]
pub(crate) fn for_each_block(query: &[f32], rows: &[f32], dim: usize, f: impl FnMut(usize, &[f32])) {
    for_each_block_with(&mut Plain, query, rows, dim, f);
}

/// [`for_each_block_with`] over int8 rows with one scale per row, row `r` standing for
/// `f32::from(q) * scales[r]`: the same bits as decoding the rows first.
///
/// On wasm32 with SIMD, the common dimensions decode inside the dot product (sign-extend,
/// convert, scale, in registers), so a decoded row never goes through the linear-memory stack
/// that wasm keeps its buffers on. Elsewhere each row is [`Decoded`] into a stack buffer, which
/// LLVM keeps in registers.
#[inline]
pub(crate) fn for_each_block_int8(
    query: &[f32],
    rows: &[i8],
    scales: &[f32],
    dim: usize,
    f: impl FnMut(usize, &[f32]),
) {
    let decoded = Decoded::new(|r: usize, row: &[i8], out: &mut [f32]| {
        let s = scales.get(r).copied().unwrap_or(0.0);
        for (o, &q) in out.iter_mut().zip(row) {
            *o = f32::from(q) * s;
        }
    });
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let mut scorer = wasm_int8::Int8Rows { scales, decoded };
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let mut scorer = decoded;
    for_each_block_with(&mut scorer, query, rows, dim, f);
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm_int8;

pub(crate) mod prescore;

/// A scored candidate. Higher scores win; equal scores break toward the lower index, so
/// results are deterministic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scored {
    pub(crate) score: f32,
    pub(crate) index: u32,
}

/// `Less` means `a` ranks before `b`.
#[inline]
pub(crate) fn rank_order(a: &Scored, b: &Scored) -> Ordering {
    b.score.total_cmp(&a.score).then(a.index.cmp(&b.index))
}

/// Bounded selection of the best `n` candidates: O(items + kept·n) instead of a full sort.
pub(crate) struct TopN {
    n: usize,
    /// Sorted best-first; at most `n` entries.
    kept: Vec<Scored>,
}

impl TopN {
    pub(crate) fn new(n: usize) -> Self {
        Self { n, kept: Vec::with_capacity(n + 1) }
    }

    /// How many candidates it keeps at most.
    pub(crate) fn n(&self) -> usize {
        self.n
    }

    /// How many candidates it holds.
    pub(crate) fn len(&self) -> usize {
        self.kept.len()
    }

    /// The score below which a candidate cannot enter the list (−∞ until it is full): a cheap
    /// test to run before any other work on a candidate. Exact ties are settled by
    /// [`TopN::push`].
    #[inline]
    pub(crate) fn threshold(&self) -> f32 {
        match self.kept.last() {
            Some(worst) if self.kept.len() == self.n => worst.score,
            _ => f32::NEG_INFINITY,
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, candidate: Scored) {
        if self.n == 0 {
            return;
        }
        if self.kept.len() == self.n {
            // Fast reject: most candidates score below the current n-th best.
            if self.kept.last().is_some_and(|worst| candidate.score < worst.score) {
                return;
            }
            match self.kept.last() {
                Some(worst) if rank_order(&candidate, worst) == Ordering::Less => {}
                _ => return,
            }
            self.kept.pop();
        }
        let pos = self.kept.partition_point(|k| rank_order(k, &candidate) == Ordering::Less);
        self.kept.insert(pos, candidate);
    }

    pub(crate) fn into_sorted(self) -> Vec<Scored> {
        self.kept
    }
}

/// Solves `a x = b` for a symmetric positive definite `a` (row-major `n`×`n`) in place,
/// by Cholesky factorisation. Returns `None` if `a` is not positive definite.
pub(crate) fn cholesky_solve(a: &mut [f64], b: &mut [f64], n: usize) -> Option<()> {
    if b.len() != n {
        return None;
    }
    cholesky_factor(a, n)?;
    cholesky_substitute(a, b, n);
    Some(())
}

/// Factors a symmetric positive definite `a` (row-major `n`×`n`) in place: its lower triangle
/// becomes `L` with `a = L Lᵀ`. Returns `None` if `a` is not positive definite.
pub(crate) fn cholesky_factor(a: &mut [f64], n: usize) -> Option<()> {
    if a.len() != n * n {
        return None;
    }
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d <= 0.0 || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    Some(())
}

/// Solves `L Lᵀ x = b` in place, with `l` from [`cholesky_factor`] (`b` has `n` values).
pub(crate) fn cholesky_substitute(a: &[f64], b: &mut [f64], n: usize) {
    // Forward substitution: L y = b.
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * n + k] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    // Back substitution: Lᵀ x = y.
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= a[k * n + i] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_plain_loop() {
        for n in [0, 1, 7, 16, 17, 64, 100] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - plain).abs() < 1e-4, "n={n}");
        }
    }

    #[test]
    fn decoded_blocks_score_as_decoding_first() {
        // 64 takes the fixed-length path, 7 the general one; 600 rows span three blocks.
        for dim in [64usize, 7] {
            let rows = 600;
            let q: Vec<i8> = (0..rows * dim).map(|i| ((i * 37 % 255) as i32 - 127) as i8).collect();
            let scales: Vec<f32> = (0..rows).map(|r| 0.001 + r as f32 * 1e-5).collect();
            let query: Vec<f32> = (0..dim).map(|i| (i as f32 * 0.37).sin()).collect();
            let decoded: Vec<f32> =
                q.iter().enumerate().map(|(i, &v)| f32::from(v) * scales[i / dim]).collect();
            let mut want = Vec::new();
            for_each_block(&query, &decoded, dim, |first, dots| {
                assert_eq!(first, want.len());
                want.extend_from_slice(dots);
            });
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            let mut got = Vec::new();
            let decode = |r: usize, row: &[i8], out: &mut [f32]| {
                for (o, &v) in out.iter_mut().zip(row) {
                    *o = f32::from(v) * scales[r];
                }
            };
            for_each_block_with(&mut Decoded::new(decode), &query, &q, dim, |first, dots| {
                assert_eq!(first, got.len());
                got.extend_from_slice(dots);
            });
            assert_eq!(bits(&got), bits(&want), "decoded, dim {dim}");
            let mut got = Vec::new();
            for_each_block_int8(&query, &q, &scales, dim, |first, dots| {
                assert_eq!(first, got.len());
                got.extend_from_slice(dots);
            });
            assert_eq!(bits(&got), bits(&want), "int8, dim {dim}");
        }
    }

    #[test]
    fn cholesky_solves_spd_system() {
        // a = [[4, 2], [2, 3]], x = [1, 2] → b = [8, 8]
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let mut b = vec![8.0, 8.0];
        cholesky_solve(&mut a, &mut b, 2).expect("spd");
        assert!((b[0] - 1.0).abs() < 1e-12 && (b[1] - 2.0).abs() < 1e-12);
        let mut not_spd = vec![0.0, 1.0, 1.0, 0.0];
        assert!(cholesky_solve(&mut not_spd, &mut [1.0, 1.0], 2).is_none());
    }

    #[test]
    fn topn_breaks_ties_by_index() {
        let mut t = TopN::new(2);
        for (i, s) in [1.0, 3.0, 3.0, 2.0].into_iter().enumerate() {
            t.push(Scored { score: s, index: i as u32 });
        }
        let idx: Vec<u32> = t.into_sorted().iter().map(|s| s.index).collect();
        assert_eq!(idx, vec![1, 2]);
    }
}
