//! The training pipeline behind `trainer train`: an evaluation split, an inner split of the
//! training part for every choice (epochs, recency), the evaluation table beside the
//! baselines, and the final model retrained on all data with the chosen settings.
//!
//! Every choice is made on the inner split (each user's latest training interaction when there
//! are timestamps), never on the evaluation split, so the table reports what production would
//! see: the future predicted from the past.

use std::collections::BTreeMap;

use anyhow::Context;
use edgerec_core::{Model, ModelBuilder, RatingHeadParts, RecencyInfo, RecencyParts, SequenceParts};
use serde::Serialize;

use super::config::{Objective, ValidParams};
use super::eval::{self, Evaluator, Metrics, Sample, TestSet};
use super::experiment::Experiment;
use super::export;
use super::fit::{self, EpochStats, Problem, Validation, Verbosity};
use super::sequence::{self, SeqEpoch};
use super::split::{self, Split};
use super::step::device;

pub mod choice;
pub(crate) mod fits;
mod sequence_path;
mod tuning;

use fits::{FinalFits, fit_als, fit_sgd, rating_head_config};
pub use fits::{WARM_ITERATIONS, als_params, als_triples};

use super::tables::Factors;
use crate::dataset::{Dataset, Interaction};
use choice::{Candidate, Choice};

/// The longest history the recency tuning stores; the exported window follows the decay.
pub(crate) const TUNING_WINDOW: usize = 100;
/// Recency weights and decays tried on the inner split (weight 0 turns recency off).
const RECENCY_WEIGHTS: [f32; 6] = [0.0, 0.5, 1.0, 2.0, 4.0, 8.0];
const RECENCY_DECAYS: [f32; 3] = [0.5, 0.75, 0.9];

/// The weights of one trained model.
#[derive(Debug, Clone)]
pub struct Weights {
    /// The factors that order the lists (the rating model itself for the rating objective).
    pub main: Factors,
    /// The rating head of a hybrid model.
    pub head: Option<Factors>,
    /// The sequence network (its histories are filled in by [`builder`]).
    pub sequence: Option<SequenceParts>,
}

/// How a recency setting scored on the inner split.
#[derive(Debug, Clone, Serialize)]
pub struct RecencyTrial {
    /// Weight tried.
    pub weight: f32,
    /// Decay tried.
    pub decay: f32,
    /// Inner-split NDCG@10.
    pub ndcg: f64,
    /// Inner-split HR@10.
    pub hr: f64,
}

/// What the pipeline produced.
#[derive(Debug)]
pub struct Outcome {
    /// The model to export.
    pub weights: Weights,
    /// What it is (under `auto`, what was chosen).
    pub objective: Objective,
    /// The recency settings chosen (None: no recency component).
    pub recency: Option<RecencyInfo>,
    /// Every recency setting tried on the inner split.
    pub recency_trials: Vec<RecencyTrial>,
    /// The evaluation split's metrics of the model trained on the training part.
    pub metrics: Metrics,
    /// The baselines on the same split.
    pub baselines: BTreeMap<&'static str, Metrics>,
    /// Epochs of the SGD-trained part on the inner split.
    pub history: Vec<EpochStats>,
    /// The epoch count chosen on the inner split (SGD-trained part; 0 if none).
    pub best_epoch: usize,
    /// Sizes: training part, evaluation part, inner validation part.
    pub sizes: (usize, usize, usize),
    /// Epochs of the sequence model on the inner split (empty for other objectives).
    pub seq_history: Vec<SeqEpoch>,
    /// Under `auto`: the models compared on the inner split, and why one was kept.
    pub choice: Option<Choice>,
}

/// Each user's latest items, newest first (ties: the larger item ID is later), at most `window`.
fn histories(rows: &[Interaction], users: usize, item_rank: &[u32], window: usize) -> Vec<Vec<u32>> {
    let mut by_user: Vec<Vec<(i64, u32, u32)>> = vec![Vec::new(); users];
    for x in rows {
        by_user[x.user as usize].push((
            x.timestamp,
            item_rank.get(x.item as usize).copied().unwrap_or(0),
            x.item,
        ));
    }
    by_user
        .into_iter()
        .map(|mut h| {
            h.sort_unstable_by_key(|&(t, r, _)| std::cmp::Reverse((t, r)));
            let mut items: Vec<u32> = Vec::with_capacity(window.min(h.len()));
            for (_, _, i) in h {
                if items.len() == window {
                    break;
                }
                if !items.contains(&i) {
                    items.push(i);
                }
            }
            items
        })
        .collect()
}

/// The smallest window that keeps every weight above 1 % of the newest item's.
pub fn window_for(decay: f32) -> usize {
    if decay >= 1.0 {
        return TUNING_WINDOW;
    }
    let k = (0.01f64.ln() / f64::from(decay).ln()).ceil() as usize;
    k.clamp(1, TUNING_WINDOW)
}

/// The artifact of `w` with `rows` as the seen items and the recency history.
pub fn builder(
    cfg: &ValidParams,
    data: &Dataset,
    w: &Weights,
    rows: &[Interaction],
    recency: Option<RecencyInfo>,
    item_rank: &[u32],
) -> ModelBuilder {
    let seen = rows.iter().map(|x| (x.user, x.item, export::seen_value(cfg, x)));
    let range = (cfg.objective() == Objective::Rating || w.head.is_some())
        .then(|| export::rating_range(rows))
        .flatten();
    let mut b = export::builder(&w.main, export::kind(cfg.objective()), data, seen, range);
    if let Some(h) = &w.head {
        b.rating_head = Some(RatingHeadParts {
            dim: h.user.dim,
            global_bias: h.global,
            user_factors: h.user.data.clone(),
            item_factors: h.item.data.clone(),
            user_bias: h.user_bias.data.clone(),
            item_bias: h.item_bias.data.clone(),
        });
    }
    if let Some(info) = recency {
        b.recency =
            Some(RecencyParts { info, history: histories(rows, data.num_users(), item_rank, info.window) });
    }
    if let Some(seq) = &w.sequence {
        let history = sequence::data::histories(rows, data.num_users(), item_rank);
        b.sequence = Some(SequenceParts { history: sequence::latest(history, seq.max_len), ..seq.clone() });
    }
    if cfg.uses_als() {
        b.fold_in = Some((cfg.als_alpha().max(1e-6), cfg.als_reg()));
    }
    b
}

/// Tries every recency setting on the inner split and keeps the best NDCG@10 (weight 0 wins
/// ties, so recency is only used where it helps).
fn tune_recency(
    cfg: &ValidParams,
    data: &Dataset,
    w: &Weights,
    inner: &Split,
    item_rank: &[u32],
    sample: Sample,
) -> anyhow::Result<(Option<RecencyInfo>, Vec<RecencyTrial>)> {
    let start = RecencyInfo { weight: 0.0, decay: 1.0, window: TUNING_WINDOW };
    let bytes = builder(cfg, data, w, &inner.train, Some(start), item_rank).build()?;
    let mut model = Model::from_bytes(&bytes)?;
    let test = TestSet::new(&model, data, &inner.val);
    let weights: Vec<f32> = cfg.recency_weight().map_or_else(|| RECENCY_WEIGHTS.to_vec(), |x| vec![x]);
    let decays: Vec<f32> = cfg.recency_decay().map_or_else(|| RECENCY_DECAYS.to_vec(), |x| vec![x]);
    let settings: Vec<RecencyInfo> = weights
        .iter()
        .flat_map(|&weight| {
            let tried = if weight == 0.0 { &decays[..1] } else { &decays[..] };
            tried.iter().map(move |&decay| RecencyInfo { weight, decay, window: window_for(decay) })
        })
        .collect();
    // iALS scores are plain dot products: every setting's lists come from one batched pass.
    let scored = if cfg.uses_als() {
        tuning::trials(&model, &test, &settings, sample)?
    } else {
        let mut scored = Vec::with_capacity(settings.len());
        for &info in &settings {
            model.set_recency(info)?;
            scored.push(eval::metrics(&model, &test, false, sample.users, sample.seed)?);
        }
        scored
    };
    let mut trials = Vec::new();
    let mut best: Option<(f64, RecencyInfo)> = None;
    for (info, m) in settings.iter().zip(&scored) {
        trials.push(RecencyTrial { weight: info.weight, decay: info.decay, ndcg: m.ndcg, hr: m.hr });
        if best.as_ref().is_none_or(|(b, _)| m.ndcg > *b + 1e-9) {
            best = Some((m.ndcg, *info));
        }
    }
    Ok((best.map(|(_, info)| info).filter(|i| i.weight > 0.0), trials))
}

/// Runs the pipeline on resolved settings (`resolve` both first).
pub fn run(cfg: &ValidParams, exp: &Experiment, data: &Dataset, v: Verbosity) -> anyhow::Result<Outcome> {
    if cfg.objective() == Objective::Sequence {
        return sequence_path::run(cfg, exp, data, v);
    }
    let started = std::time::Instant::now();
    let rank = split::item_id_rank(data);
    let parts = split::outer(&data.interactions, exp, &rank);
    let inner = split::inner(&parts.train, exp.split(), exp.seed(), &rank);
    let sample = Sample { users: exp.eval_users(), seed: exp.seed() };
    let sgd_part = cfg.objective() == Objective::Hybrid || !cfg.uses_als();

    // 1. Choices on the inner split: epochs of the SGD-trained part (early stopping), and the
    //    ranking factors for the recency tuning. The two fits are independent: run both at once.
    let ranking_kind = cfg.objective() != Objective::Rating;
    let tune = ranking_kind && split::has_timestamps(&inner.train) && !inner.val.is_empty();
    // One bar at a time: the SGD epochs' bar wins when both fits run.
    let als_v = if sgd_part { Verbosity::Quiet } else { v };
    let (sgd_result, als_inner) = std::thread::scope(|scope| {
        let als =
            (tune && cfg.uses_als()).then(|| scope.spawn(|| fit_als(cfg, data, &inner.train, None, als_v)));
        let sgd = if sgd_part {
            let sgd_cfg =
                if cfg.objective() == Objective::Hybrid { rating_head_config(cfg) } else { cfg.clone() };
            let ev = Evaluator::new(data, &inner.train, &inner.val, sample);
            let problem = Problem { users: data.num_users(), items: data.num_items(), train: &inner.train };
            let validation = Validation { rows: &inner.val, evaluator: Some(&ev) };
            Some(fit::fit(&sgd_cfg, &problem, Some(&validation), v))
        } else {
            None
        };
        (sgd, als.map(|h| h.join().map_err(|_| anyhow::anyhow!("the iALS thread panicked"))))
    });
    let (mut best_epoch, mut history, mut inner_sgd) = (0, Vec::new(), None);
    if let Some(t) = sgd_result {
        let t = t?;
        best_epoch = t.best_epoch;
        history = t.history;
        inner_sgd = Some(t.factors);
    }
    let mut inner_als = None;
    let (recency, recency_trials) = if tune {
        let main = match als_inner {
            Some(f) => f??,
            None => inner_sgd.clone().context("BPR inner fit")?,
        };
        let w = Weights { main, head: None, sequence: None };
        let tuned = tune_recency(cfg, data, &w, &inner, &rank, sample)?;
        inner_als = cfg.uses_als().then_some(w.main);
        tuned
    } else {
        (None, Vec::new())
    };

    // Under `auto`, the sequence model on the same inner split: kept when it ranks better.
    let mut choice = None;
    if cfg.auto() {
        let matrix = Candidate {
            objective: cfg.objective(),
            hr: 0.0,
            ndcg: 0.0,
            seconds: started.elapsed().as_secs_f64(),
        };
        let best = recency_trials.iter().fold(None::<&RecencyTrial>, |b, t| match b {
            Some(b) if b.ndcg >= t.ndcg => Some(b),
            _ => Some(t),
        });
        let trial = match best {
            None => sequence_path::Trial::Kept(Choice {
                reason: choice::untried(cfg.objective(), None),
                chosen: cfg.objective(),
                candidates: vec![matrix],
                order: None,
            }),
            Some(b) => {
                let matrix = Candidate { hr: b.hr, ndcg: b.ndcg, ..matrix };
                let deadline = cfg.seq_time_budget().map(|s| started + std::time::Duration::from_secs_f64(s));
                sequence_path::trial(cfg, data, &inner, &rank, sample, matrix, deadline, v)?
            }
        };
        match trial {
            sequence_path::Trial::Chosen(fitted, c) => {
                let head = (cfg.objective() == Objective::Hybrid)
                    .then(|| sequence_path::Head { epochs: best_epoch, history: history.clone() });
                let seq_cfg = cfg.chosen(Objective::Sequence);
                let mut out =
                    sequence_path::finish(&seq_cfg, exp, data, &parts, inner.val.len(), fitted, head)?;
                out.choice = Some(c);
                return Ok(out);
            }
            sequence_path::Trial::Kept(c) => choice = Some(c),
        }
    }

    // 2. The evaluation model (trained on the training part) and 3. the model to export
    //    (retrained on everything with the settings chosen above), each iALS fit starting from
    //    the one before. One bar at a time: the evaluation model's, or the refit's when it is
    //    the only fit.
    let refit = exp.refit() || parts.val.is_empty();
    let fits = FinalFits {
        eval: (!parts.val.is_empty()).then_some(&parts.train[..]),
        all: refit.then_some(&data.interactions[..]),
        inner: inner_als,
        epochs: best_epoch,
        eval_v: v,
        all_v: if parts.val.is_empty() { v } else { Verbosity::Quiet },
    };
    let (eval_weights, final_weights) = fits::final_fits(cfg, data, fits)?;
    let (mut metrics, mut baselines) = (Metrics::default(), BTreeMap::new());
    let eval_weights = match eval_weights {
        None => None,
        Some(w) => {
            let bytes = builder(cfg, data, &w, &parts.train, recency, &rank).build()?;
            let mut model = Model::from_bytes(&bytes)?;
            let test = TestSet::new(&model, data, &parts.val);
            let ratings = cfg.objective() == Objective::Rating || w.head.is_some();
            let ev = Evaluator::new(data, &parts.train, &parts.val, sample);
            baselines = ev.baselines(cfg)?;
            baselines.extend(ev.popularity_baselines(&rank)?);
            if cfg.uses_als() {
                // The model and the model without its recency term, ranked in one batched pass.
                let settings: Vec<RecencyInfo> = match recency {
                    Some(info) => vec![info, RecencyInfo { weight: 0.0, ..info }],
                    None => vec![RecencyInfo { weight: 0.0, decay: 1.0, window: 1 }],
                };
                let ranked = tuning::trials(&model, &test, &settings, sample)?;
                metrics = eval::rated_metrics(&model, &test, ratings)?.with_top_n(&ranked[0]);
                if let Some(info) = recency {
                    model.set_recency(RecencyInfo { weight: 0.0, ..info })?;
                    let without = eval::rated_metrics(&model, &test, ratings)?.with_top_n(&ranked[1]);
                    baselines.insert("without_recency", without);
                }
            } else {
                metrics = eval::metrics(&model, &test, ratings, sample.users, sample.seed)?;
                if let Some(info) = recency {
                    model.set_recency(RecencyInfo { weight: 0.0, ..info })?;
                    baselines.insert(
                        "without_recency",
                        eval::metrics(&model, &test, ratings, sample.users, sample.seed)?,
                    );
                }
            }
            Some(w)
        }
    };
    let weights = match (final_weights, eval_weights) {
        (Some(all), _) => all,
        (None, Some(w)) => w,
        (None, None) => anyhow::bail!("nothing was trained"),
    };
    Ok(Outcome {
        weights,
        objective: cfg.objective(),
        recency,
        recency_trials,
        metrics,
        baselines,
        history,
        best_epoch,
        sizes: (parts.train.len(), parts.val.len(), inner.val.len()),
        seq_history: Vec::new(),
        choice,
    })
}
