//! K-fold cross-validation (`trainer train --folds K`): each fold trains on the others for the
//! configured epochs and is scored once, and every metric is summarised as mean ± standard
//! deviation over the folds.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::bail;
use serde::Serialize;

use super::config::{Objective, ValidParams};
use super::eval::{Evaluator, Metrics, Sample};
use super::experiment::Experiment;
use super::fit::{self, Problem, Verbosity};
use super::split;
use crate::dataset::Dataset;

/// What cross-validation found.
#[derive(Debug, Serialize)]
pub struct CvReport {
    /// The settings of the model that was cross-validated.
    pub config: ValidParams,
    /// The experiment settings.
    pub experiment: Experiment,
    /// Each fold's metrics on its held-out part.
    pub folds: Vec<Metrics>,
    /// Each fold's training time.
    pub fit_seconds: Vec<f64>,
    /// Per metric (and `fit_seconds`), the mean and standard deviation over the folds.
    pub summary: BTreeMap<&'static str, (f64, f64)>,
}

/// Cross-validates over `k` random folds; `on_fold` hears of each fold as it ends (its index
/// from 0, its metrics and its training seconds).
///
/// Random folds have no time order: cross-validation measures the SGD-trained part (the rating
/// model, a hybrid's rating head, or BPR), as Surprise's protocol does; iALS is refused.
pub fn cross_validate(
    cfg: &ValidParams,
    exp: &Experiment,
    data: &Dataset,
    k: usize,
    on_fold: &mut dyn FnMut(usize, &Metrics, f64),
) -> anyhow::Result<CvReport> {
    if cfg.objective() == Objective::Ranking && cfg.uses_als() {
        bail!(
            "cross-validation runs the SGD-trained objectives (rating, hybrid's rating head, --ranker bpr); evaluate iALS with --split last or global"
        );
    }
    let cfg = &if cfg.objective() == Objective::Hybrid { cfg.rating_head() } else { cfg.clone() };
    let sample = Sample { users: exp.eval_users(), seed: exp.seed() };
    let mut folds = Vec::new();
    let mut fit_seconds = Vec::new();
    for (f, fold) in split::k_folds(&data.interactions, k, exp.seed()).into_iter().enumerate() {
        // Each fold trains for the configured epochs on the other folds only; the held-out
        // fold is never used for stopping or tuning.
        let started = Instant::now();
        let problem = Problem { users: data.num_users(), items: data.num_items(), train: &fold.train };
        let trained = fit::fit(&cfg.without_early_stopping(), &problem, None, Verbosity::Quiet)?;
        fit_seconds.push(started.elapsed().as_secs_f64());
        let m = Evaluator::new(data, &fold.train, &fold.val, sample).metrics(&trained.factors, cfg)?;
        on_fold(f, &m, fit_seconds[f]);
        folds.push(m);
    }
    let mut summary = BTreeMap::new();
    let pick = |get: &dyn Fn(&Metrics) -> Option<f64>| -> Option<(f64, f64)> {
        let v: Vec<f64> = folds.iter().filter_map(get).collect();
        (!v.is_empty()).then(|| mean_std(&v))
    };
    for (name, value) in [
        ("rmse", pick(&|m| m.rmse)),
        ("mae", pick(&|m| m.mae)),
        ("hr@10", pick(&|m| Some(m.hr))),
        ("recall@10", pick(&|m| Some(m.recall))),
        ("ndcg@10", pick(&|m| Some(m.ndcg))),
        ("coverage", pick(&|m| Some(m.coverage))),
        ("fit_seconds", Some(mean_std(&fit_seconds))),
    ] {
        if let Some(v) = value {
            summary.insert(name, v);
        }
    }
    Ok(CvReport { config: cfg.clone(), experiment: exp.clone(), folds, fit_seconds, summary })
}

/// The mean and the (population) standard deviation.
fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::mean_std;

    #[test]
    fn mean_std_is_the_population_deviation() {
        let (mean, std) = mean_std(&[1.0, 3.0]);
        assert!((mean - 2.0).abs() < 1e-12 && (std - 1.0).abs() < 1e-12);
        assert_eq!(mean_std(&[]), (0.0, 0.0));
    }
}
