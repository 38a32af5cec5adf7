//! Quality tests on generated data: the trained models must beat the baselines by margins that
//! the generator's known structure (trainer/src/data/model.rs) makes achievable.
//!
//! - Ratings: the signal has a user × item part (category affinity, taste-cluster match and a
//!   4-d latent taste, sd ≈ 0.5 on sampled pairs) that no biases-only model can see, over noise
//!   with sd 0.6 (best achievable RMSE ≈ 0.64). Biases-only lands near 0.87, so a working
//!   factorisation must be at least 0.05 better; anything below 0.60 would mean leakage.
//! - Ranking: users choose their own category 60–90 % of the time and, within a category, their
//!   favourite of four taste clusters 80 % of the time. Most-popular cannot know either, so a
//!   personalised ranker must reach at least twice its NDCG@10.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use clap::Parser;
use edgerec_trainer::data::Interaction;
use edgerec_trainer::data::generate::dataset;
use edgerec_trainer::data::model::GenConfig;
use edgerec_trainer::train::config::{Objective, SplitKind, TrainArgs, TrainConfig};
use edgerec_trainer::train::eval::Evaluator;
use edgerec_trainer::train::fit::{Verbosity, fit};
use edgerec_trainer::train::pipeline;
use edgerec_trainer::train::split::per_user;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    train: TrainArgs,
}

fn config(flags: &[&str]) -> TrainConfig {
    let args = Args::parse_from(std::iter::once("test").chain(flags.iter().copied()));
    TrainConfig::from_args(&args.train).expect("valid flags")
}

#[test]
fn rating_model_beats_biases_only_by_a_clear_margin() {
    let data = dataset(GenConfig::default()).unwrap();
    let cfg = config(&["--objective", "rating"]);
    let split = per_user(&data.interactions, cfg.split, cfg.val_fraction, cfg.seed);
    let ev = Evaluator::new(&data, &split.train, &split.val);
    let trained =
        fit(&cfg, data.num_users(), data.num_items(), &split.train, &split.val, Some(&ev), Verbosity::Quiet)
            .unwrap();
    let model = ev.metrics(&trained.factors, &cfg).unwrap().rmse.unwrap();
    let baselines = ev.baselines(&cfg).unwrap();
    let biases = baselines["biases_only"].rmse.unwrap();
    let mean = baselines["global_mean"].rmse.unwrap();
    eprintln!("rmse: model {model:.4}, biases only {biases:.4}, global mean {mean:.4}");
    assert!(biases < mean, "biases-only {biases:.4} must beat the global mean {mean:.4}");
    assert!(model <= biases - 0.05, "model RMSE {model:.4} is not 0.05 below biases-only {biases:.4}");
    assert!(model > 0.60, "model RMSE {model:.4} beats the noise floor: leakage?");
}

#[test]
fn ranking_model_doubles_most_popular_ndcg() {
    let data = dataset(GenConfig::default()).unwrap();
    let cfg = config(&["--objective", "ranking"]);
    let split = per_user(&data.interactions, cfg.split, cfg.val_fraction, cfg.seed);
    let ev = Evaluator::new(&data, &split.train, &split.val);
    let trained =
        fit(&cfg, data.num_users(), data.num_items(), &split.train, &split.val, Some(&ev), Verbosity::Quiet)
            .unwrap();
    let model = ev.metrics(&trained.factors, &cfg).unwrap();
    let popular = &ev.baselines(&cfg).unwrap()["most_popular"];
    eprintln!("ndcg@10: model {:.4}, most popular {:.4}", model.ndcg, popular.ndcg);
    assert!(model.ndcg >= 2.0 * popular.ndcg, "NDCG@10 {:.4} < 2 × popular {:.4}", model.ndcg, popular.ndcg);
    assert!(model.hr > popular.hr);
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let data = dataset(GenConfig { users: 200, items: 90, interactions: 6000, seed: 3 }).unwrap();
    for objective in ["rating", "ranking"] {
        let cfg = config(&["--objective", objective, "--epochs", "3", "--dim", "8"]);
        let split = per_user(&data.interactions, cfg.split, cfg.val_fraction, cfg.seed);
        let run = || {
            fit(&cfg, data.num_users(), data.num_items(), &split.train, &split.val, None, Verbosity::Quiet)
                .unwrap()
        };
        let (a, b) = (run(), run());
        assert_eq!(a.factors.user.data, b.factors.user.data, "{objective}");
        assert_eq!(a.factors.item.data, b.factors.item.data, "{objective}");
        assert_eq!(a.factors.item_bias.data, b.factors.item_bias.data, "{objective}");
    }
}

/// The model `scripts/demo.sh` serves (all defaults) must beat both popularity baselines on the
/// time-ordered split, and its rating head must predict ratings as well as a rating-only model.
#[test]
fn default_model_beats_popularity_in_time_order_and_keeps_its_ratings() {
    let data = dataset(GenConfig::default()).unwrap();
    let cfg = config(&[]).resolve(&data.interactions);
    assert_eq!(cfg.objective, Objective::Hybrid, "rated data gets the hybrid model");
    assert_eq!(cfg.split, SplitKind::Last, "timestamped data gets the time-ordered split");
    let out = pipeline::run(&cfg, &data, Verbosity::Quiet).unwrap();
    let m = &out.metrics;
    for name in ["most_popular", "recently_popular"] {
        let b = &out.baselines[name];
        eprintln!("{name}: HR@10 {:.4} NDCG@10 {:.4}; model {:.4} {:.4}", b.hr, b.ndcg, m.hr, m.ndcg);
        assert!(m.hr > 1.5 * b.hr, "HR@10 {:.4} is not 1.5 × {name}'s {:.4}", m.hr, b.hr);
        assert!(m.ndcg > 1.5 * b.ndcg, "NDCG@10 {:.4} is not 1.5 × {name}'s {:.4}", m.ndcg, b.ndcg);
    }
    let rating_only = config(&["--objective", "rating"]).resolve(&data.interactions);
    let r = pipeline::run(&rating_only, &data, Verbosity::Quiet).unwrap();
    let (head, alone) = (m.rmse.unwrap(), r.metrics.rmse.unwrap());
    eprintln!("rmse: rating head {head:.4}, rating-only model {alone:.4}");
    assert!(head <= alone * 1.02, "rating head RMSE {head:.4} is not within 2 % of {alone:.4}");
    assert!(out.recency.is_some_and(|r| r.weight > 0.0), "the generator's sessions reward recency");
}

/// A purchase log (every rating equal) gets a ranking model, never a rating model that learns
/// nothing.
#[test]
fn data_without_varying_ratings_gets_a_ranking_model() {
    let mut data = dataset(GenConfig { users: 200, items: 90, interactions: 6000, seed: 5 }).unwrap();
    for x in &mut data.interactions {
        *x = Interaction { rating: 1.0, ..*x };
    }
    let cfg = config(&[]).resolve(&data.interactions);
    assert_eq!(cfg.objective, Objective::Ranking);
    let out = pipeline::run(&cfg, &data, Verbosity::Quiet).unwrap();
    assert!(out.weights.head.is_none());
    let popular = &out.baselines["most_popular"];
    assert!(out.metrics.ndcg > popular.ndcg, "{:.4} vs {:.4}", out.metrics.ndcg, popular.ndcg);
}
