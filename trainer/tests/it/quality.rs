//! Quality tests on generated data: the trained models must beat the baselines by margins that
//! the generator's known structure (trainer/src/synthetic/generator.rs) makes achievable.
//!
//! - Ratings: the signal has a user × item part (category affinity, taste-cluster match and a
//!   4-d latent taste, sd ≈ 0.5 on sampled pairs) that no biases-only model can see, over noise
//!   with sd 0.6 (best achievable RMSE ≈ 0.64). Biases-only lands near 0.87, so a working
//!   factorisation must be at least 0.05 better; anything below 0.60 would mean leakage.
//! - Ranking: users choose their own category 60–90 % of the time and, within a category, their
//!   favourite of four taste clusters 80 % of the time. Most-popular cannot know either, so a
//!   personalised ranker must reach at least twice its NDCG@10.

use edgerec_trainer::dataset::{Dataset, Interaction};
use edgerec_trainer::synthetic::csv::dataset;
use edgerec_trainer::synthetic::generator::GenConfig;
use edgerec_trainer::train::config::{Objective, Ranker, TrainParams, ValidParams};
use edgerec_trainer::train::eval::{Evaluator, Sample};
use edgerec_trainer::train::experiment::{Experiment, ExperimentParams, SplitKind};
use edgerec_trainer::train::fit::{Problem, Validation, Verbosity, fit};
use edgerec_trainer::train::pipeline;
use edgerec_trainer::train::split::{Split, per_user};

const SAMPLE: Sample = Sample { users: 2000, seed: 42 };

fn params(objective: Objective, ranker: Ranker) -> ValidParams {
    TrainParams { objective, ranker, ..TrainParams::default() }.check().unwrap()
}

fn experiment() -> Experiment {
    ExperimentParams::default().check().unwrap()
}

/// A random 20 % per user: the protocol these two SGD-model tests were calibrated on.
fn random_split(data: &Dataset) -> Split {
    per_user(&data.interactions, SplitKind::Random, 0.2, 42)
}

fn fit_with_early_stopping(
    cfg: &ValidParams,
    data: &Dataset,
    split: &Split,
    ev: &Evaluator<'_>,
) -> edgerec_trainer::train::tables::Factors {
    let problem = Problem { users: data.num_users(), items: data.num_items(), train: &split.train };
    let validation = Validation { rows: &split.val, evaluator: Some(ev) };
    fit(cfg, &problem, Some(&validation), Verbosity::Quiet).unwrap().factors
}

#[test]
fn rating_model_beats_biases_only_by_a_clear_margin() {
    let data = dataset(GenConfig::default()).unwrap();
    let cfg = params(Objective::Rating, Ranker::Als);
    let split = random_split(&data);
    let ev = Evaluator::new(&data, &split.train, &split.val, SAMPLE);
    let trained = fit_with_early_stopping(&cfg, &data, &split, &ev);
    let model = ev.metrics(&trained, &cfg).unwrap().rmse.unwrap();
    let baselines = ev.baselines(&cfg).unwrap();
    let biases = baselines["biases_only"].rmse.unwrap();
    let mean = baselines["global_mean"].rmse.unwrap();
    eprintln!("rmse: model {model:.4}, biases only {biases:.4}, global mean {mean:.4}");
    assert!(biases < mean, "biases-only {biases:.4} must beat the global mean {mean:.4}");
    assert!(model <= biases - 0.05, "model RMSE {model:.4} is not 0.05 below biases-only {biases:.4}");
    assert!(model > 0.60, "model RMSE {model:.4} beats the noise floor: leakage?");
}

#[test]
fn bpr_model_doubles_most_popular_ndcg() {
    let data = dataset(GenConfig::default()).unwrap();
    let cfg = params(Objective::Ranking, Ranker::Bpr);
    let split = random_split(&data);
    let ev = Evaluator::new(&data, &split.train, &split.val, SAMPLE);
    let trained = fit_with_early_stopping(&cfg, &data, &split, &ev);
    let model = ev.metrics(&trained, &cfg).unwrap();
    let popular = &ev.baselines(&cfg).unwrap()["most_popular"];
    eprintln!("ndcg@10: model {:.4}, most popular {:.4}", model.ndcg, popular.ndcg);
    assert!(model.ndcg >= 2.0 * popular.ndcg, "NDCG@10 {:.4} < 2 × popular {:.4}", model.ndcg, popular.ndcg);
    assert!(model.hr > popular.hr);
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let data =
        dataset(GenConfig { users: 200, items: 90, interactions: 6000, seed: 3, ..GenConfig::default() })
            .unwrap();
    for (objective, ranker) in [(Objective::Rating, Ranker::Als), (Objective::Ranking, Ranker::Bpr)] {
        let cfg = TrainParams { objective, ranker, epochs: Some(3), dim: 8, ..TrainParams::default() }
            .check()
            .unwrap();
        let split = random_split(&data);
        let problem = Problem { users: data.num_users(), items: data.num_items(), train: &split.train };
        let run = || fit(&cfg, &problem, None, Verbosity::Quiet).unwrap();
        let (a, b) = (run(), run());
        assert_eq!(a.factors.user.data, b.factors.user.data, "{objective:?}");
        assert_eq!(a.factors.item.data, b.factors.item.data, "{objective:?}");
        assert_eq!(a.factors.item_bias.data, b.factors.item_bias.data, "{objective:?}");
    }
    // The whole pipeline (iALS, recency tuning, rating head, threads) too.
    let cfg = TrainParams { dim: 8, ..TrainParams::default() }.check().unwrap().resolve(&data.interactions);
    let exp = experiment().resolve(&data.interactions);
    let a = pipeline::run(&cfg, &exp, &data, Verbosity::Quiet).unwrap();
    let b = pipeline::run(&cfg, &exp, &data, Verbosity::Quiet).unwrap();
    assert_eq!(a.weights.main.user.data, b.weights.main.user.data);
    assert_eq!(a.metrics.ndcg.to_bits(), b.metrics.ndcg.to_bits());
}

/// The model `scripts/demo.sh` serves (all defaults) must beat both popularity baselines on the
/// time-ordered split, and its rating head must predict ratings as well as a rating-only model.
#[test]
fn default_model_beats_popularity_in_time_order_and_keeps_its_ratings() {
    let data = dataset(GenConfig::default()).unwrap();
    let cfg = TrainParams::default().check().unwrap().resolve(&data.interactions);
    let exp = experiment().resolve(&data.interactions);
    assert_eq!(cfg.objective(), Objective::Hybrid, "rated data gets the hybrid model");
    assert_eq!(exp.split(), SplitKind::Last, "timestamped data gets the time-ordered split");
    let out = pipeline::run(&cfg, &exp, &data, Verbosity::Quiet).unwrap();
    let m = &out.metrics;
    for name in ["most_popular", "recently_popular"] {
        let b = &out.baselines[name];
        eprintln!("{name}: HR@10 {:.4} NDCG@10 {:.4}; model {:.4} {:.4}", b.hr, b.ndcg, m.hr, m.ndcg);
        assert!(m.hr > 1.5 * b.hr, "HR@10 {:.4} is not 1.5 × {name}'s {:.4}", m.hr, b.hr);
        assert!(m.ndcg > 1.5 * b.ndcg, "NDCG@10 {:.4} is not 1.5 × {name}'s {:.4}", m.ndcg, b.ndcg);
    }
    let rating_only = params(Objective::Rating, Ranker::Als);
    let r = pipeline::run(&rating_only, &exp, &data, Verbosity::Quiet).unwrap();
    let (head, alone) = (m.rmse.unwrap(), r.metrics.rmse.unwrap());
    eprintln!("rmse: rating head {head:.4}, rating-only model {alone:.4}");
    assert!(head <= alone * 1.02, "rating head RMSE {head:.4} is not within 2 % of {alone:.4}");
}

/// A purchase log (every rating equal) gets a ranking model, never a rating model that learns
/// nothing.
#[test]
fn data_without_varying_ratings_gets_a_ranking_model() {
    let mut data =
        dataset(GenConfig { users: 200, items: 90, interactions: 6000, seed: 5, ..GenConfig::default() })
            .unwrap();
    for x in &mut data.interactions {
        *x = Interaction { rating: 1.0, ..*x };
    }
    let cfg = TrainParams::default().check().unwrap().resolve(&data.interactions);
    assert_eq!(cfg.objective(), Objective::Ranking);
    let exp = experiment().resolve(&data.interactions);
    let out = pipeline::run(&cfg, &exp, &data, Verbosity::Quiet).unwrap();
    assert!(out.weights.head.is_none());
    let popular = &out.baselines["most_popular"];
    assert!(out.metrics.ndcg > popular.ndcg, "{:.4} vs {:.4}", out.metrics.ndcg, popular.ndcg);
}

/// Invalid hyperparameters never become a configuration.
#[test]
fn only_checked_parameters_train() {
    for bad in [
        TrainParams { dim: 0, ..TrainParams::default() },
        TrainParams { lr: Some(-1.0), ..TrainParams::default() },
        TrainParams { als_reg: 0.0, ..TrainParams::default() },
        TrainParams { recency_decay: Some(1.5), ..TrainParams::default() },
        TrainParams { behavior_weights: "like=2".into(), ..TrainParams::default() },
    ] {
        assert!(bad.check().is_err());
    }
    assert!(ExperimentParams { holdout: 0, ..ExperimentParams::default() }.check().is_err());
    assert!(ExperimentParams { folds: Some(1), ..ExperimentParams::default() }.check().is_err());
}
