//! Implicit alternating least squares (iALS, Hu, Koren & Volinsky 2008) with the conjugate
//! gradient solver of Takács et al. (as in `implicit`): each half-step solves, for every row,
//! `(YᵀY + Σᵢ (cᵢ − 1)·yᵢyᵢᵀ + λI)·x = Σᵢ cᵢ·yᵢ` with a few CG steps warm-started from the
//! previous `x`, where `cᵢ = 1 + α·wᵢ` is the confidence of an observed interaction of
//! weight `wᵢ`. candle computes the Gram matrix `YᵀY` (on the selected device); the per-row CG
//! steps are sparse and run on the host.
//!
//! The core's implicit fold-in solves exactly this system for one visitor, so folding in a
//! visitor at the edge is the same user step that training takes.

use anyhow::Context;
use candle_core::{Device, Tensor};
use edgerec_core::kernel::dot;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::Serialize;

/// iALS hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AlsParams {
    /// Factor dimension.
    pub dim: usize,
    /// Alternating rounds (each solves users, then items).
    pub iterations: usize,
    /// The ridge λ.
    pub reg: f64,
    /// Confidence per unit of weight α: c = 1 + α·w.
    pub alpha: f64,
    /// Conjugate-gradient steps per row and half-step.
    pub cg_steps: usize,
    /// Seed of the initial factors.
    pub seed: u64,
}

/// One side's interactions as CSR: row `r` holds `(column, c − 1)` pairs.
struct Csr {
    indptr: Vec<usize>,
    cols: Vec<u32>,
    extra: Vec<f32>,
}

impl Csr {
    fn new(rows: usize, entries: impl Iterator<Item = (u32, u32, f32)> + Clone) -> Self {
        let mut indptr = vec![0usize; rows + 1];
        for (r, _, _) in entries.clone() {
            indptr[r as usize + 1] += 1;
        }
        for r in 0..rows {
            indptr[r + 1] += indptr[r];
        }
        let mut fill = indptr.clone();
        let n = indptr[rows];
        let (mut cols, mut extra) = (vec![0u32; n], vec![0f32; n]);
        for (r, c, e) in entries {
            let k = &mut fill[r as usize];
            cols[*k] = c;
            extra[*k] = e;
            *k += 1;
        }
        Self { indptr, cols, extra }
    }
}

/// Fitted iALS factors, row-major.
#[derive(Debug, Clone)]
pub struct AlsFactors {
    /// `users × dim`.
    pub user: Vec<f32>,
    /// `items × dim`.
    pub item: Vec<f32>,
}

/// Fits iALS on `(user, item, weight)` triples (each pair at most once).
pub fn fit(
    p: &AlsParams,
    users: usize,
    items: usize,
    rows: &[(u32, u32, f32)],
    device: &Device,
) -> anyhow::Result<AlsFactors> {
    let d = p.dim;
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    let normal = Normal::new(0.0f32, 0.01).context("initial factor distribution")?;
    let mut user: Vec<f32> = (0..users * d).map(|_| normal.sample(&mut rng)).collect();
    let mut item: Vec<f32> = (0..items * d).map(|_| normal.sample(&mut rng)).collect();
    let alpha = p.alpha as f32;
    let by_user = Csr::new(users, rows.iter().map(|&(u, i, w)| (u, i, alpha * w)));
    let by_item = Csr::new(items, rows.iter().map(|&(u, i, w)| (i, u, alpha * w)));
    for _ in 0..p.iterations {
        let g = gram(&item, items, d, p.reg, device)?;
        half_step(&mut user, &item, &by_user, &g, d, p.cg_steps);
        let g = gram(&user, users, d, p.reg, device)?;
        half_step(&mut item, &user, &by_item, &g, d, p.cg_steps);
    }
    if user.iter().chain(&item).any(|v| !v.is_finite()) {
        anyhow::bail!("iALS diverged (non-finite factors); raise --als-reg (now {})", p.reg);
    }
    Ok(AlsFactors { user, item })
}

/// `YᵀY + λI` for the `rows × d` matrix `y`, computed by candle.
fn gram(y: &[f32], rows: usize, d: usize, reg: f64, device: &Device) -> anyhow::Result<Vec<f32>> {
    let t = Tensor::from_slice(y, (rows, d), device)?;
    let g = t.t()?.matmul(&t)?;
    let eye = (Tensor::eye(d, candle_core::DType::F32, device)? * reg)?;
    Ok((g + eye)?.flatten_all()?.to_vec1::<f32>()?)
}

/// Updates every row of `x` against the fixed `y` by `steps` CG steps.
fn half_step(x: &mut [f32], y: &[f32], csr: &Csr, g: &[f32], d: usize, steps: usize) {
    let (mut r, mut p, mut ap) = (vec![0f32; d], vec![0f32; d], vec![0f32; d]);
    for (row, xr) in x.chunks_exact_mut(d).enumerate() {
        let span = csr.indptr[row]..csr.indptr[row + 1];
        let (cols, extra) = (&csr.cols[span.clone()], &csr.extra[span]);
        // r = b − A·x, with b = Σ cᵢ·yᵢ.
        times_a(g, y, cols, extra, xr, &mut r, d);
        for v in r.iter_mut() {
            *v = -*v;
        }
        for (&c, &e) in cols.iter().zip(extra) {
            let yi = &y[c as usize * d..(c as usize + 1) * d];
            for (rv, &yv) in r.iter_mut().zip(yi) {
                *rv += (1.0 + e) * yv;
            }
        }
        p.copy_from_slice(&r);
        let mut rs_old = dot(&r, &r);
        for _ in 0..steps {
            if rs_old < 1e-20 {
                break;
            }
            times_a(g, y, cols, extra, &p, &mut ap, d);
            let step = rs_old / dot(&p, &ap);
            if !step.is_finite() {
                break;
            }
            for k in 0..d {
                xr[k] += step * p[k];
                r[k] -= step * ap[k];
            }
            let rs_new = dot(&r, &r);
            let beta = rs_new / rs_old;
            for k in 0..d {
                p[k] = r[k] + beta * p[k];
            }
            rs_old = rs_new;
        }
    }
}

/// `out = (G + Σᵢ eᵢ·yᵢyᵢᵀ)·v`, where `G` already holds `λI`.
fn times_a(g: &[f32], y: &[f32], cols: &[u32], extra: &[f32], v: &[f32], out: &mut [f32], d: usize) {
    for (o, g_row) in out.iter_mut().zip(g.chunks_exact(d)) {
        *o = dot(g_row, v);
    }
    for (&c, &e) in cols.iter().zip(extra) {
        let yi = &y[c as usize * d..(c as usize + 1) * d];
        let s = e * dot(yi, v);
        for (o, &yv) in out.iter_mut().zip(yi) {
            *o += s * yv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two blocks of users who like two blocks of items: iALS must score in-block items above
    /// out-of-block ones for a user who has not seen them.
    #[test]
    fn recovers_block_structure() {
        let (users, items) = (40u32, 20u32);
        let mut rows = Vec::new();
        for u in 0..users {
            for i in 0..items {
                let same = (u < users / 2) == (i < items / 2);
                // Each user misses item (u % 10) of their own block.
                if same && i % 10 != u % 10 {
                    rows.push((u, i, 1.0));
                }
            }
        }
        let p = AlsParams { dim: 4, iterations: 10, reg: 0.1, alpha: 5.0, cg_steps: 3, seed: 1 };
        let f = fit(&p, users as usize, items as usize, &rows, &Device::Cpu).unwrap();
        let score = |u: usize, i: usize| dot(&f.user[u * 4..u * 4 + 4], &f.item[i * 4..i * 4 + 4]);
        for u in 0..users as usize {
            let own = if u < 20 { u % 10 } else { 10 + u % 10 };
            let other = if u < 20 { 10 + u % 10 } else { u % 10 };
            assert!(
                score(u, own) > score(u, other) + 0.1,
                "user {u}: {} vs {}",
                score(u, own),
                score(u, other)
            );
        }
    }
}
