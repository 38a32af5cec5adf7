//! The inner loops of iALS: the row solves and the Gram matrix's blocks.
//!
//! They are compiled once for the build's baseline and again for wider vector units (AVX2,
//! AVX-512), and the widest one the CPU has is picked at run time (`multiversion`). Every
//! version does the same float operations in the same order: [`dot`] keeps 16 independent
//! sums (the lanes of the core's SIMD dot product) and adds them in one fixed tree, products
//! with the Gram matrix add its rows in order, and nothing is fused into an FMA. So the
//! factors are the same bits on every x86-64 CPU and every thread count.

use multiversion::multiversion;
use rayon::prelude::*;

use super::Csr;

/// Lanes of [`dot`]: four 4-wide vectors, as in `edgerec_core::kernel::dot`.
const LANES: usize = 16;

/// `a · b` with the exact arithmetic of `edgerec_core::kernel::dot`: lane `j` sums the
/// products at `j mod 16`, the lanes are added as four 4-wide vectors (`((v0 + v1) + v2) + v3`),
/// then across (`(l0 + l2) + (l1 + l3)`), and the tail last. Written on plain arrays so that
/// each compiled version vectorises it as wide as its CPU allows.
#[inline(always)]
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (ca, ta) = a[..n].as_chunks::<LANES>();
    let (cb, tb) = b[..n].as_chunks::<LANES>();
    let mut acc = [0f32; LANES];
    for (x, y) in ca.iter().zip(cb) {
        for j in 0..LANES {
            acc[j] += x[j] * y[j];
        }
    }
    // Without this barrier LLVM vectorises the loop two lanes wide, to match the pairs of the
    // final sum below; with it the loop is one 16-wide multiply and add per step on AVX-512.
    let acc = std::hint::black_box(acc);
    let tail: f32 = ta.iter().zip(tb).map(|(x, y)| x * y).sum();
    let lane = |l: usize| ((acc[l] + acc[4 + l]) + acc[8 + l]) + acc[12 + l];
    ((lane(0) + lane(2)) + (lane(1) + lane(3))) + tail
}

/// `out += a·v`.
#[inline(always)]
fn axpy(a: f32, v: &[f32], out: &mut [f32]) {
    for (o, &x) in out.iter_mut().zip(v) {
        *o += a * x;
    }
}

/// `out = G·v` for a symmetric `G`, as the sum of `v[k]`·(row `k` of `G`) over `k` in order:
/// whole rows at a time, with no horizontal sums (`G`'s row `k` is its column `k`).
#[inline(always)]
fn sym_matvec(g: &[f32], v: &[f32], out: &mut [f32]) {
    out.fill(0.0);
    for (g_row, &vk) in g.chunks_exact(v.len()).zip(v) {
        axpy(vk, g_row, out);
    }
}

/// `BᵀB` for one block `B` of rows: the block is transposed into `cols` so that every entry
/// is one contiguous dot product; the upper triangle is computed and mirrored.
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
pub(super) fn block_gram(block: &[f32], d: usize, cols: &mut Vec<f32>) -> Vec<f32> {
    let n = block.len() / d;
    cols.clear();
    cols.resize(n * d, 0.0);
    for (r, row) in block.chunks_exact(d).enumerate() {
        for (k, &v) in row.iter().enumerate() {
            cols[k * n + r] = v;
        }
    }
    let mut g = vec![0f32; d * d];
    for a in 0..d {
        let ca = &cols[a * n..(a + 1) * n];
        for b in a..d {
            let v = dot(ca, &cols[b * n..(b + 1) * n]);
            g[a * d + b] = v;
            g[b * d + a] = v;
        }
    }
    g
}

/// One thread's CG vectors, reused from row to row.
struct Scratch {
    r: Vec<f32>,
    p: Vec<f32>,
    ap: Vec<f32>,
}

/// Updates every row of `x` against the fixed `y` by `steps` CG steps, rows in parallel.
pub(super) fn half_step(x: &mut [f32], y: &[f32], csr: &Csr, g: &[f32], d: usize, steps: usize) {
    let scratch = || Scratch { r: vec![0f32; d], p: vec![0f32; d], ap: vec![0f32; d] };
    x.par_chunks_exact_mut(d).enumerate().for_each_init(scratch, |s, (row, xr)| {
        let span = csr.indptr[row]..csr.indptr[row + 1];
        solve_row(xr, y, &csr.cols[span.clone()], &csr.extra[span], g, steps, s);
    });
}

/// `steps` CG steps on one row's system, warm-started from `xr`. As in `implicit`, the
/// sparse part `Σᵢ eᵢ·yᵢyᵢᵀ` is never formed: each product with it is one pass over the row's
/// nonzeros, and the initial residual `b − A·x` takes a single pass.
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
fn solve_row(
    xr: &mut [f32],
    y: &[f32],
    cols: &[u32],
    extra: &[f32],
    g: &[f32],
    steps: usize,
    s: &mut Scratch,
) {
    let d = xr.len();
    let Scratch { r, p, ap } = s;
    // r = b − A·x = −G·x + Σᵢ ((1 + eᵢ) − eᵢ·(yᵢ·x))·yᵢ.
    sym_matvec(g, xr, r);
    for v in r.iter_mut() {
        *v = -*v;
    }
    for (&c, &e) in cols.iter().zip(extra) {
        let yi = &y[c as usize * d..(c as usize + 1) * d];
        axpy((1.0 + e) - e * dot(yi, xr), yi, r);
    }
    p.copy_from_slice(r);
    let mut rs_old = dot(r, r);
    for _ in 0..steps {
        if rs_old < 1e-20 {
            break;
        }
        // ap = A·p = G·p + Σᵢ eᵢ·(yᵢ·p)·yᵢ.
        sym_matvec(g, p, ap);
        for (&c, &e) in cols.iter().zip(extra) {
            let yi = &y[c as usize * d..(c as usize + 1) * d];
            axpy(e * dot(yi, p), yi, ap);
        }
        let step = rs_old / dot(p, ap);
        if !step.is_finite() {
            break;
        }
        for k in 0..d {
            xr[k] += step * p[k];
            r[k] -= step * ap[k];
        }
        let rs_new = dot(r, r);
        let beta = rs_new / rs_old;
        for k in 0..d {
            p[k] = r[k] + beta * p[k];
        }
        rs_old = rs_new;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dot product is the core's, bit for bit, at every length around the lane count.
    #[test]
    fn dot_is_the_cores_bit_for_bit() {
        let v = |n: usize, k: f32| (0..n).map(|i| ((i as f32 * k).sin() * 3.7).exp()).collect::<Vec<_>>();
        for n in [0, 1, 7, 15, 16, 17, 31, 32, 33, 64, 100, 128, 257] {
            let (a, b) = (v(n, 0.37), v(n, 1.91));
            assert_eq!(dot(&a, &b).to_bits(), edgerec_core::kernel::dot(&a, &b).to_bits(), "n = {n}");
        }
    }
}
