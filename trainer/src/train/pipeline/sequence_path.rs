//! The sequence model's path through the pipeline: one fit on the inner split's training part,
//! stopped early on its next items. The evaluation model and the exported one share those
//! weights and differ only in the histories their user states are computed from (the training
//! part, or everything): a user's latest items are read at serving time without retraining, as
//! the papers' protocol and production both do.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use candle_core::Device;
use edgerec_core::Model;

use super::choice::{self, Candidate, Choice};
use super::{Outcome, Weights, builder, device, fit_sgd, rating_head_config};
use crate::dataset::{Dataset, Interaction};
use crate::train::config::{Objective, ValidParams};
use crate::train::eval::{self, Evaluator, Metrics, Sample, TestSet};
use crate::train::experiment::Experiment;
use crate::train::fit::{EpochStats, Verbosity};
use crate::train::sequence::{self, Holdout, SeqFit};
use crate::train::split::{self, Split};
use crate::train::tables::Factors;

/// A sequence network fitted on the inner split, and the device it lives on.
pub struct Fitted {
    /// The network with the best inner NDCG@10.
    pub fit: SeqFit,
    dev: Device,
}

/// A hybrid's rating head to train beside the network: its epochs (chosen on the inner split)
/// and their history.
pub struct Head {
    pub epochs: usize,
    pub history: Vec<EpochStats>,
}

/// Fits the network on the inner split's training `histories`, stopped early on its next
/// items (`holdout`) and, with a deadline, by time.
fn fit_inner(
    cfg: &ValidParams,
    data: &Dataset,
    histories: &[Vec<u32>],
    holdout: Option<&Holdout>,
    deadline: Option<Instant>,
    v: Verbosity,
) -> anyhow::Result<Fitted> {
    let dev = device(cfg.device())?;
    let p = cfg.seq().params(data.num_items(), cfg.dim(), cfg.seed());
    let fit = sequence::fit::fit(&p, data.num_items(), histories, holdout, deadline, &dev, v)?;
    Ok(Fitted { fit, dev })
}

/// What `auto`'s trial of the sequence model ended in.
pub enum Trial {
    /// The sequence model ranks better: keep it.
    Chosen(Fitted, Choice),
    /// The factorisation model stays (the sequence model lost, or was not worth trying).
    Kept(Choice),
}

/// Under `auto`: the order test, then (when the data has order) the sequence model on the same
/// inner split as `matrix`, scored by the same ruler.
#[allow(clippy::too_many_arguments)]
pub fn trial(
    cfg: &ValidParams,
    data: &Dataset,
    inner: &Split,
    rank: &[u32],
    sample: Sample,
    matrix: Candidate,
    deadline: Option<Instant>,
    v: Verbosity,
) -> anyhow::Result<Trial> {
    let hist = sequence::data::histories(&inner.train, data.num_users(), rank);
    let holdout = sequence::holdout(&hist, &inner.val);
    let order = choice::order_signal(&hist, &holdout, data.num_items());
    if v == Verbosity::Normal {
        eprintln!(
            "order test: previous item HR@10 {:.4}, earlier item {:.4}, McNemar chi2 {:.1} over {} users",
            order.hr_previous, order.hr_earlier, order.chi2, order.users
        );
    }
    if !order.ordered {
        let reason = choice::untried(matrix.objective, Some(&order));
        return Ok(Trial::Kept(Choice {
            chosen: matrix.objective,
            candidates: vec![matrix],
            reason,
            order: Some(order),
        }));
    }
    let fitted = fit_inner(cfg, data, &hist, Some(&holdout), deadline, v)?;
    let m = fitted.metrics(&cfg.chosen(Objective::Sequence), data, inner, rank, sample)?;
    let seq = Candidate { objective: Objective::Sequence, hr: m.hr, ndcg: m.ndcg, seconds: fitted.seconds() };
    let (chosen, reason) = choice::decide(&matrix, &seq, fitted.fit.out_of_time);
    let c = Choice { candidates: vec![matrix, seq], chosen, reason, order: Some(order) };
    Ok(if chosen == Objective::Sequence { Trial::Chosen(fitted, c) } else { Trial::Kept(c) })
}

impl Fitted {
    /// The weights with user states read after `rows` (each user's latest items in them).
    fn weights(
        &self,
        cfg: &ValidParams,
        data: &Dataset,
        rows: &[Interaction],
        rank: &[u32],
    ) -> anyhow::Result<Weights> {
        let (nu, ni) = (data.num_users(), data.num_items());
        let mut f = Factors::zeros(nu, ni);
        f.user.dim = cfg.dim();
        f.item.dim = cfg.dim();
        let hist = sequence::data::histories(rows, nu, rank);
        f.user.data = sequence::user_states(&self.fit, &hist, &self.dev)?;
        f.item.data = sequence::item_factors(&self.fit)?;
        Ok(Weights { main: f, head: None, sequence: Some(sequence::network(&self.fit)?) })
    }

    /// HR@10 and NDCG@10 on `split`'s held-out rows, ranked by the serving core exactly as the
    /// other models are scored on it (the same users sampled).
    pub fn metrics(
        &self,
        cfg: &ValidParams,
        data: &Dataset,
        split: &Split,
        rank: &[u32],
        sample: Sample,
    ) -> anyhow::Result<Metrics> {
        let w = self.weights(cfg, data, &split.train, rank)?;
        let bytes = builder(cfg, data, &w, &split.train, None, rank).build()?;
        let model = Model::from_bytes(&bytes)?;
        eval::metrics(&model, &TestSet::new(&model, data, &split.val), false, sample.users, sample.seed)
    }

    /// Seconds the training took (epochs, without their validation).
    pub fn seconds(&self) -> f64 {
        self.fit.history.iter().map(|e| e.seconds).sum()
    }
}

/// Weights after `rows`, with a rating head trained on them when `head` is given.
fn weights_with_head(
    cfg: &ValidParams,
    fitted: &Fitted,
    data: &Dataset,
    rows: &[Interaction],
    rank: &[u32],
    head: Option<&Head>,
) -> anyhow::Result<Weights> {
    let mut w = fitted.weights(cfg, data, rows, rank)?;
    if let Some(h) = head {
        w.head = Some(fit_sgd(&rating_head_config(cfg), data, rows, h.epochs, Verbosity::Quiet)?);
    }
    Ok(w)
}

/// The evaluation table and the weights to export, from a fitted network (`cfg` has the
/// sequence objective).
pub fn finish(
    cfg: &ValidParams,
    exp: &Experiment,
    data: &Dataset,
    parts: &Split,
    inner_len: usize,
    fitted: Fitted,
    head: Option<Head>,
) -> anyhow::Result<Outcome> {
    let rank = split::item_id_rank(data);
    let sample = Sample { users: exp.eval_users(), seed: exp.seed() };
    let (mut metrics, mut baselines) = (Metrics::default(), BTreeMap::new());
    if !parts.val.is_empty() {
        let w = weights_with_head(cfg, &fitted, data, &parts.train, &rank, head.as_ref())?;
        let bytes = builder(cfg, data, &w, &parts.train, None, &rank).build()?;
        let model = Model::from_bytes(&bytes)?;
        let test = TestSet::new(&model, data, &parts.val);
        metrics = eval::metrics(&model, &test, w.head.is_some(), sample.users, sample.seed)?;
        let ev = Evaluator::new(data, &parts.train, &parts.val, sample);
        // With a rating head, the rating baselines too (as the rating config has them).
        baselines = ev.baselines(&if head.is_some() { rating_head_config(cfg) } else { cfg.clone() })?;
        baselines.extend(ev.popularity_baselines(&rank)?);
    }
    let history = head.as_ref().map_or_else(Vec::new, |h| h.history.clone());
    Ok(Outcome {
        weights: weights_with_head(cfg, &fitted, data, &data.interactions, &rank, head.as_ref())?,
        objective: Objective::Sequence,
        recency: None,
        recency_trials: Vec::new(),
        metrics,
        baselines,
        history,
        best_epoch: fitted.fit.best_epoch,
        sizes: (parts.train.len(), parts.val.len(), inner_len),
        seq_history: fitted.fit.history,
        choice: None,
    })
}

/// `--objective sequence`: the network alone.
pub fn run(cfg: &ValidParams, exp: &Experiment, data: &Dataset, v: Verbosity) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let rank = split::item_id_rank(data);
    let parts = split::outer(&data.interactions, exp, &rank);
    let inner = split::inner(&parts.train, exp.split(), exp.seed(), &rank);
    let deadline = cfg.seq_time_budget().map(|s| started + Duration::from_secs_f64(s));
    let hist = sequence::data::histories(&inner.train, data.num_users(), &rank);
    let holdout = (!inner.val.is_empty()).then(|| sequence::holdout(&hist, &inner.val));
    let fitted = fit_inner(cfg, data, &hist, holdout.as_ref(), deadline, v)?;
    finish(cfg, exp, data, &parts, inner.val.len(), fitted, None)
}
