//! iALS gives the same factors, bit for bit, whatever the number of threads it runs on.

use edgerec_trainer::train::als::{self, AlsFactors, AlsParams};
use edgerec_trainer::train::fit::Verbosity;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// More items than one Gram block holds, so the Gram matrix is summed from several partials,
/// and enough rows that every pool splits the row solves differently.
const USERS: usize = 2500;
const ITEMS: usize = 2100;

fn rows() -> Vec<(u32, u32, f32)> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut rows: Vec<(u32, u32, f32)> = (0..40_000)
        .map(|_| {
            // Skewed items, as in shop data: some rows are long, most are short.
            let item = (rng.random::<f64>().powi(3) * ITEMS as f64) as u32;
            (rng.random_range(0..USERS as u32), item, [1.0, 2.0, 5.0][rng.random_range(0..3)])
        })
        .collect();
    rows.sort_by_key(|&(u, i, _)| (u, i));
    rows.dedup_by_key(|&mut (u, i, _)| (u, i));
    rows
}

fn fit_on(threads: usize, rows: &[(u32, u32, f32)]) -> AlsFactors {
    let p = AlsParams { dim: 24, iterations: 3, reg: 0.1, alpha: 2.0, cg_steps: 3, seed: 11 };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool");
    pool.install(|| als::fit(&p, USERS, ITEMS, rows, Verbosity::Quiet)).expect("iALS fits")
}

#[test]
fn als_factors_are_bit_identical_on_1_2_and_4_threads() {
    let rows = rows();
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    let one = fit_on(1, &rows);
    assert!(one.user.iter().any(|&x| x != 0.0), "the fit learned nothing");
    for threads in [2, 4] {
        let many = fit_on(threads, &rows);
        assert!(bits(&one.user) == bits(&many.user), "user factors differ on {threads} threads");
        assert!(bits(&one.item) == bits(&many.item), "item factors differ on {threads} threads");
    }
}
