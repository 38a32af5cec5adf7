//! Implicit alternating least squares (iALS, Hu, Koren & Volinsky 2008) with the conjugate
//! gradient solver of Takács et al. (as in `implicit`): each half-step solves, for every row,
//! `(YᵀY + Σᵢ (cᵢ − 1)·yᵢyᵢᵀ + λI)·x = Σᵢ cᵢ·yᵢ` with a few CG steps warm-started from the
//! previous `x`, where `cᵢ = 1 + α·wᵢ` is the confidence of an observed interaction of
//! weight `wᵢ`.
//!
//! Both the Gram matrix `YᵀY` and the row solves run on every core (rayon), and the factors are
//! the same bits whatever the thread count: a row's solve reads only shared inputs and its own
//! row, and the Gram matrix is summed from fixed blocks of rows in block order, never in the
//! order threads happen to finish.
//!
//! The core's implicit fold-in solves exactly this system for one visitor, so folding in a
//! visitor at the edge is the same user step that training takes.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;
use serde::Serialize;

use self::solve::{block_gram, half_step};
use super::fit::Verbosity;

mod solve;

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

/// Rows per block of the Gram matrix: a block, transposed, stays in L2 while its column pairs
/// are multiplied. The block size, not the thread count, fixes the order of the sums.
const GRAM_BLOCK: usize = 1024;

/// Fits iALS on `(user, item, weight)` triples (each pair at most once), on rayon's current
/// thread pool, from random factors drawn from `p.seed`. `verbosity` shows a progress bar over
/// the iterations.
pub fn fit(
    p: &AlsParams,
    users: usize,
    items: usize,
    rows: &[(u32, u32, f32)],
    verbosity: Verbosity,
) -> anyhow::Result<AlsFactors> {
    fit_from(p, users, items, rows, None, verbosity)
}

/// [`fit`], warm-started from `start` when given: the factors of a fit on similar data (the
/// same users and items), such as a fit on fewer rows, need only a few more iterations.
pub fn fit_from(
    p: &AlsParams,
    users: usize,
    items: usize,
    rows: &[(u32, u32, f32)],
    start: Option<AlsFactors>,
    verbosity: Verbosity,
) -> anyhow::Result<AlsFactors> {
    let d = p.dim;
    let (mut user, mut item) = match start {
        Some(f) => {
            anyhow::ensure!(
                f.user.len() == users * d && f.item.len() == items * d,
                "iALS start factors are {} and {} values, not {users} users and {items} items × {d}",
                f.user.len(),
                f.item.len()
            );
            (f.user, f.item)
        }
        None => {
            let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
            let normal = Normal::new(0.0f32, 0.01).context("initial factor distribution")?;
            let user: Vec<f32> = (0..users * d).map(|_| normal.sample(&mut rng)).collect();
            let item: Vec<f32> = (0..items * d).map(|_| normal.sample(&mut rng)).collect();
            (user, item)
        }
    };
    let alpha = p.alpha as f32;
    let by_user = Csr::new(users, rows.iter().map(|&(u, i, w)| (u, i, alpha * w)));
    let by_item = Csr::new(items, rows.iter().map(|&(u, i, w)| (i, u, alpha * w)));
    let bar = progress_bar(verbosity, p.iterations);
    for _ in 0..p.iterations {
        let g = gram(&item, d, p.reg);
        half_step(&mut user, &item, &by_user, &g, d, p.cg_steps);
        let g = gram(&user, d, p.reg);
        half_step(&mut item, &user, &by_item, &g, d, p.cg_steps);
        bar.inc(1);
    }
    bar.finish_and_clear();
    if user.iter().chain(&item).any(|v| !v.is_finite()) {
        anyhow::bail!("iALS diverged (non-finite factors); raise --als-reg (now {})", p.reg);
    }
    Ok(AlsFactors { user, item })
}

/// A bar over the iterations with an ETA, in the style of the SGD epochs' bars.
fn progress_bar(verbosity: Verbosity, iterations: usize) -> ProgressBar {
    if verbosity == Verbosity::Quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(iterations as u64);
    bar.set_style(
        ProgressStyle::with_template("iALS [{bar:30}] {pos}/{len} iterations {elapsed} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

/// `YᵀY + λI` for the row-major matrix `y` of width `d`: each block of [`GRAM_BLOCK`] rows
/// gives a partial sum (in parallel), and the partials are added in block order.
fn gram(y: &[f32], d: usize, reg: f64) -> Vec<f32> {
    let partials: Vec<Vec<f32>> =
        y.par_chunks(GRAM_BLOCK * d).map_init(Vec::new, |cols, block| block_gram(block, d, cols)).collect();
    let mut g = vec![0f32; d * d];
    for part in &partials {
        for (a, b) in g.iter_mut().zip(part) {
            *a += b;
        }
    }
    for k in 0..d {
        g[k * d + k] += reg as f32;
    }
    g
}

#[cfg(test)]
mod tests {
    use super::solve::dot;
    use super::*;

    /// The blocked Gram matrix against a plain f64 triple loop, over several blocks and a
    /// short last one.
    #[test]
    fn gram_matches_plain_loop() {
        let (n, d) = (2 * GRAM_BLOCK + 37, 7);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let normal = Normal::new(0.0f32, 1.0).unwrap();
        let y: Vec<f32> = (0..n * d).map(|_| normal.sample(&mut rng)).collect();
        let g = gram(&y, d, 0.5);
        for a in 0..d {
            for b in 0..d {
                let mut want: f64 = (0..n).map(|r| f64::from(y[r * d + a]) * f64::from(y[r * d + b])).sum();
                if a == b {
                    want += 0.5;
                }
                let got = f64::from(g[a * d + b]);
                assert!((got - want).abs() <= 1e-4 * n as f64, "({a}, {b}): {got} vs {want}");
            }
        }
    }

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
        let f = fit(&p, users as usize, items as usize, &rows, Verbosity::Quiet).unwrap();
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
