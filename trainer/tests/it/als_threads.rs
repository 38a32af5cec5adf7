//! iALS gives the same factors, bit for bit, whatever the number of threads it runs on, and a
//! fit warm-started from another fit's factors carries on exactly where that one stopped.

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

fn params(iterations: usize) -> AlsParams {
    AlsParams { dim: 24, iterations, reg: 0.1, alpha: 2.0, cg_steps: 3, seed: 11 }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn fit_on(threads: usize, rows: &[(u32, u32, f32)]) -> AlsFactors {
    let p = params(3);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool");
    pool.install(|| als::fit(&p, USERS, ITEMS, rows, Verbosity::Quiet)).expect("iALS fits")
}

#[test]
fn als_factors_are_bit_identical_on_1_2_and_4_threads() {
    let rows = rows();
    let one = fit_on(1, &rows);
    assert!(one.user.iter().any(|&x| x != 0.0), "the fit learned nothing");
    for threads in [2, 4] {
        let many = fit_on(threads, &rows);
        assert!(bits(&one.user) == bits(&many.user), "user factors differ on {threads} threads");
        assert!(bits(&one.item) == bits(&many.item), "item factors differ on {threads} threads");
    }
}

#[test]
fn a_warm_started_fit_carries_on_where_its_start_stopped() {
    let rows = rows();
    let fit =
        |iterations, start| als::fit_from(&params(iterations), USERS, ITEMS, &rows, start, Verbosity::Quiet);
    let five = fit(5, None).expect("five rounds");
    let two = fit(2, None).expect("two rounds");
    let two_then_three = fit(3, Some(two.clone())).expect("three more rounds");
    assert!(bits(&five.user) == bits(&two_then_three.user), "user factors differ");
    assert!(bits(&five.item) == bits(&two_then_three.item), "item factors differ");
    assert!(bits(&five.item) != bits(&two.item), "the three rounds changed nothing");

    let short = AlsFactors { user: two.user[24..].to_vec(), item: two.item };
    let err = fit(1, Some(short)).expect_err("a start of the wrong shape");
    assert!(err.to_string().contains("start factors"), "{err}");
}
