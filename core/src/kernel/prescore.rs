//! Integer pre-scores of f32 rows: the rows quantised to int8 (one scale per row), the query to
//! i16 (one scale), and exact integer dot products (`pmaddwd` natively, `i32x4.dot_i16x8_s` in
//! wasm).
//!
//! The rows are stored four at a time with their dimensions interleaved in pairs, so that one
//! multiply-add gives four rows' partial sums: no horizontal sums, and four scores come out of
//! the loop as one vector. The loop keeps three vectors live, which V8's register allocator
//! handles as well as LLVM's does.
//!
//! A pre-score is within a known bound of the row's f32 score ([`QuantizedQuery::error_bound`]
//! and [`Int8Blocks::quantization_bound`]), which lets a search pick its candidates with the
//! integer kernel and still choose exactly what the f32 kernel would: the candidates are
//! re-scored in f32, and the choice is kept only when the bound proves that nothing left out
//! could have entered it (`ivf/prescored.rs`). Integer sums are exact, so pre-scores are the same
//! bits on every target.

use wide::{f32x4, i16x8, i32x4};

/// Query values are scaled into `-Q_MAX..=Q_MAX`.
const Q_MAX: f32 = 32767.0;

/// The longest rows whose integer dot products cannot overflow i32: `MAX_DIM · 127 · 32767 <
/// 2³¹`.
pub(crate) const MAX_DIM: usize = 256;

/// A query vector as i16 values, each pair of dimensions repeated in four lanes pairs (the
/// shape [`Int8Blocks`] multiplies with), and the f32 value of one unit.
#[derive(Debug, Clone)]
pub(crate) struct QuantizedQuery {
    pairs: Vec<i16x8>,
    scale: f32,
    dim: usize,
}

impl QuantizedQuery {
    /// `None` for a query the integers cannot stand for: longer than [`MAX_DIM`], all zero,
    /// or not finite.
    pub(crate) fn new(query: &[f32]) -> Option<Self> {
        if query.len() > MAX_DIM || !query.iter().all(|x| x.is_finite()) {
            return None;
        }
        let max = query.iter().fold(0f32, |m, x| m.max(x.abs()));
        let scale = max / Q_MAX;
        if !(scale > 0.0 && scale.is_normal()) {
            return None;
        }
        // |x / scale| ≤ Q_MAX·(1 + ε) rounds to at most Q_MAX; `as` saturates regardless.
        let q = |k: usize| query.get(k).map_or(0, |x| (x / scale).round() as i16);
        let pairs = (0..query.len().div_ceil(2))
            .map(|p| {
                let (a, b) = (q(2 * p), q(2 * p + 1));
                i16x8::new([a, b, a, b, a, b, a, b])
            })
            .collect();
        Some(Self { pairs, scale, dim: query.len() })
    }

    /// A bound on `|pre-score − f32 score|` for a row of `-127..=127` values with scale at
    /// most `row_scale`, where the pre-score is `base + (dot as f32) · (scale · row_scale)` and
    /// the f32 score `base + dot(query, row)` as the f32 kernel computes it (any summation
    /// order), `|base| ≤ base_max`, the row standing for exactly its int8 values times its
    /// scale ([`Int8Blocks::quantization_bound`] covers the step from the stored row).
    ///
    /// Quantising the query moves each value by at most `0.51·scale` (half a unit, plus the
    /// rounding of `x / scale`), so the exact sums differ by at most `0.51·scale·Σ|rowᵢ|·s
    /// ≤ 0.51·w` with `w = scale·row_scale·127·dim`. Both sides' float roundings (`dim`
    /// products and additions, the final scaling and the additions of `base`) stay below
    /// `(dim + 8)·ε·Q_MAX·w + 4ε·(base_max + Q_MAX·w)`. The bound returned is twice the sum.
    pub(crate) fn error_bound(&self, row_scale: f32, base_max: f32) -> f32 {
        let eps = f32::EPSILON;
        let w = self.scale * row_scale * 127.0 * self.dim as f32;
        let rounding = (self.dim as f32 + 8.0) * eps * Q_MAX * w + 4.0 * eps * (base_max + Q_MAX * w);
        2.0 * (0.51 * w + rounding)
    }
}

/// f32 rows quantised to int8 with one scale per row (`max |x| / 127`), in blocks of four rows
/// with their dimensions interleaved in pairs: block `b`, pair `p` holds rows `4b..4b + 4`'s
/// values `2p` and `2p + 1`, as i16 lanes (zero past the last row or dimension).
#[derive(Debug, Clone)]
pub(crate) struct Int8Blocks {
    lanes: Vec<i16x8>,
    scales: Vec<f32>,
    rows: usize,
    pairs: usize,
    /// The largest scale.
    pub(crate) max_scale: f32,
}

impl Int8Blocks {
    /// `rows` (row-major, `dim` values each) are finite (the loader checks).
    pub(crate) fn quantize(rows: &[f32], dim: usize) -> Self {
        let dim = dim.max(1);
        let n = rows.len() / dim;
        let pairs = dim.div_ceil(2);
        let mut scales = Vec::with_capacity(n.next_multiple_of(4));
        let mut values = vec![0i16; n * 2 * pairs];
        for (r, row) in rows.chunks_exact(dim).enumerate() {
            let s = row.iter().fold(0f32, |m, x| m.max(x.abs())) / 127.0;
            scales.push(s);
            for (k, x) in row.iter().enumerate() {
                values[r * 2 * pairs + k] =
                    if s > 0.0 { (x / s).round().clamp(-127.0, 127.0) as i16 } else { 0 };
            }
        }
        let value = |r: usize, k: usize| if r < n { values[r * 2 * pairs + k] } else { 0 };
        let lanes = (0..n.div_ceil(4))
            .flat_map(|b| {
                (0..pairs).map(move |p| {
                    let mut lane = [0i16; 8];
                    for (j, pair) in lane.chunks_exact_mut(2).enumerate() {
                        pair[0] = value(4 * b + j, 2 * p);
                        pair[1] = value(4 * b + j, 2 * p + 1);
                    }
                    i16x8::new(lane)
                })
            })
            .collect();
        let max_scale = scales.iter().fold(0f32, |m, &s| m.max(s));
        scales.resize(n.next_multiple_of(4), 0.0);
        Self { lanes, scales, rows: n, pairs, max_scale }
    }

    /// The number of rows.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Calls `f(first, pre)` for each block of four rows `first..first + 4`, with `pre[j]` row
    /// `first + j`'s integer dot product with the query times the query's and the row's scale
    /// (rows past the end score 0). `query` must have the rows' length.
    #[inline]
    pub(crate) fn for_each_block(&self, query: &QuantizedQuery, mut f: impl FnMut(usize, [f32; 4])) {
        if query.pairs.len() != self.pairs || self.pairs == 0 {
            return;
        }
        let unit = f32x4::splat(query.scale);
        let blocks = self.lanes.chunks_exact(self.pairs).zip(self.scales.as_chunks::<4>().0);
        for (b, (block, scales)) in blocks.enumerate() {
            let mut acc = i32x4::ZERO;
            for (lane, q) in block.iter().zip(&query.pairs) {
                acc += lane.dot(*q);
            }
            f(4 * b, (f32x4::from_i32x4(acc) * (unit * f32x4::new(*scales))).to_array());
        }
    }

    /// A bound on how far the int8 form of any row moves its f32 dot product with `query`: each
    /// value moves by at most half a step (plus rounding), so the dot products move by at most
    /// `0.51·max_scale·Σ|queryᵢ|`, doubled.
    pub(crate) fn quantization_bound(&self, query: &[f32]) -> f32 {
        let l1: f32 = query.iter().map(|x| x.abs()).sum();
        2.0 * 0.51 * self.max_scale * l1 * (1.0 + query.len() as f32 * f32::EPSILON)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize, dim: usize) -> Vec<f32> {
        (0..n * dim).map(|i| ((i as f32) * 0.41).cos() * (1 + i % 3) as f32).collect()
    }

    /// Every row's pre-score, in order.
    fn pre_scores(t: &Int8Blocks, q: &QuantizedQuery) -> Vec<f32> {
        let mut out = Vec::new();
        t.for_each_block(q, |first, pre| {
            assert_eq!(first, out.len());
            out.extend(pre);
        });
        out.truncate(t.rows());
        out
    }

    #[test]
    fn pre_scores_stay_within_the_bounds_of_the_f32_scores() {
        for (n, dim) in [(1, 1), (5, 7), (9, 16), (4, 33), (30, 64), (3, 256)] {
            let rows = rows(n, dim);
            let q: Vec<f32> = (0..dim).map(|i| ((i as f32) * 0.73 + 0.5).sin() * 3.0).collect();
            let t = Int8Blocks::quantize(&rows, dim);
            let qq = QuantizedQuery::new(&q).expect("a usable query");
            let pre = pre_scores(&t, &qq);
            assert_eq!(pre.len(), n);
            let bound = qq.error_bound(t.max_scale, 0.0) + t.quantization_bound(&q);
            for (r, row) in rows.chunks_exact(dim).enumerate() {
                let exact: f32 = q.iter().zip(row).map(|(a, b)| a * b).sum();
                assert!((pre[r] - exact).abs() <= bound, "{n}x{dim}, row {r}: {} vs {exact}", pre[r]);
            }
        }
    }

    #[test]
    fn integer_sums_are_exact() {
        // Rows whose int8 forms are known: a row's largest value maps to 127.
        let dim = 6;
        let rows = [[127.0, -64.0, 1.0, 0.0, -127.0, 3.0], [2.0, 2.0, 2.0, 2.0, 2.0, 2.0]].concat();
        let t = Int8Blocks::quantize(&rows, dim);
        let q = [1.0, 0.5, -1.0, 0.25, 1.0, -0.5];
        let qq = QuantizedQuery::new(&q).expect("a usable query");
        let qi = [32767i64, 16384, -32767, 8192, 32767, -16384];
        let ki = [[127i64, -64, 1, 0, -127, 3], [127; 6]];
        let pre = pre_scores(&t, &qq);
        for (r, k) in ki.iter().enumerate() {
            let sum: i64 = qi.iter().zip(k).map(|(a, b)| a * b).sum();
            let want = sum as f32 * (qq.scale * t.scales[r]);
            assert_eq!(pre[r].to_bits(), want.to_bits(), "row {r}");
        }
    }

    #[test]
    fn the_largest_rows_do_not_overflow() {
        let t = Int8Blocks::quantize(&vec![-1.0; MAX_DIM], MAX_DIM);
        let qq = QuantizedQuery::new(&[1.0; MAX_DIM]).expect("a usable query");
        let sum = -127i64 * 32767 * MAX_DIM as i64;
        assert_eq!(pre_scores(&t, &qq)[0], sum as f32 * (qq.scale * t.scales[0]));
        assert!(QuantizedQuery::new(&[1.0; MAX_DIM + 1]).is_none());
    }

    #[test]
    fn queries_the_integers_cannot_hold_are_refused() {
        assert!(QuantizedQuery::new(&[0.0; 8]).is_none());
        assert!(QuantizedQuery::new(&[1.0, f32::NAN]).is_none());
        assert!(QuantizedQuery::new(&[1.0, f32::INFINITY]).is_none());
        assert!(QuantizedQuery::new(&[]).is_none());
    }
}
