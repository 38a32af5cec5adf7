//! The fits of the factorisation path, and how each one starts from the one before.
//!
//! The default command trains on three row sets: the inner training part (for the choices), the
//! training part (for the evaluation table) and all rows (the exported model). Each set holds the
//! one before it plus the latest rows, so each iALS fit after the first starts from the previous
//! fit's factors and runs [`WARM_ITERATIONS`] rounds instead of starting from random factors and
//! running them all. The SGD-trained parts (a hybrid's rating head, BPR, the rating model) train
//! from scratch for the epochs chosen on the inner split, on their own threads beside iALS.

use super::Weights;
use crate::dataset::{Dataset, Interaction};
use crate::train::als::{self, AlsFactors, AlsParams};
use crate::train::config::{Objective, ValidParams};
use crate::train::fit::{self, Problem, Verbosity};
use crate::train::tables::Factors;

/// iALS rounds of a fit that starts from an earlier fit's factors. On the data sets in the
/// benchmark, more rounds change the held-out metrics by less than their run-to-run spread
/// while costing a full fit each (`docs/BENCHMARKS.md`).
pub const WARM_ITERATIONS: usize = 4;

/// The iALS settings of `cfg`.
pub fn als_params(cfg: &ValidParams) -> AlsParams {
    AlsParams {
        dim: cfg.dim(),
        iterations: cfg.als_iterations(),
        reg: cfg.als_reg(),
        alpha: cfg.als_alpha(),
        cg_steps: 3,
        seed: cfg.seed(),
    }
}

/// iALS's `(user, item, weight)` triples for `rows`: each pair once, with its largest weight.
pub fn als_triples(cfg: &ValidParams, rows: &[Interaction]) -> Vec<(u32, u32, f32)> {
    let mut triples: Vec<(u32, u32, f32)> =
        rows.iter().map(|x| (x.user, x.item, cfg.weight(x.behavior))).collect();
    triples.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(b.2.total_cmp(&a.2)));
    triples.dedup_by_key(|t| (t.0, t.1));
    triples
}

/// iALS on `rows`, as a `Factors` with zero biases: from random factors, or from `start` (an
/// earlier fit on fewer of the same rows) for [`WARM_ITERATIONS`] rounds.
pub(crate) fn fit_als(
    cfg: &ValidParams,
    data: &Dataset,
    rows: &[Interaction],
    start: Option<&Factors>,
    v: Verbosity,
) -> anyhow::Result<Factors> {
    let triples = als_triples(cfg, rows);
    let (nu, ni) = (data.num_users(), data.num_items());
    let mut p = als_params(cfg);
    let start = start.map(|f| {
        p.iterations = p.iterations.min(WARM_ITERATIONS);
        AlsFactors { user: f.user.data.clone(), item: f.item.data.clone() }
    });
    let f = als::fit_from(&p, nu, ni, &triples, start, v)?;
    let mut out = Factors::zeros(nu, ni);
    out.user.dim = cfg.dim();
    out.item.dim = cfg.dim();
    out.user.data = f.user;
    out.item.data = f.item;
    Ok(out)
}

/// The SGD-trained part (rating model, rating head, or BPR) for exactly `epochs` epochs.
pub(super) fn fit_sgd(
    cfg: &ValidParams,
    data: &Dataset,
    rows: &[Interaction],
    epochs: usize,
    v: Verbosity,
) -> anyhow::Result<Factors> {
    let problem = Problem { users: data.num_users(), items: data.num_items(), train: rows };
    Ok(fit::fit(&cfg.fixed_epochs(epochs), &problem, None, v)?.factors)
}

/// The configuration the rating head trains with: the rating objective, same SGD settings.
pub(super) fn rating_head_config(cfg: &ValidParams) -> ValidParams {
    cfg.rating_head()
}

/// What the last two fits train on, and how they show progress.
pub(super) struct FinalFits<'a> {
    /// The training part, for the evaluation model (none without an evaluation split).
    pub eval: Option<&'a [Interaction]>,
    /// All rows, for the exported model (none under `--no-refit`).
    pub all: Option<&'a [Interaction]>,
    /// The inner split's iALS factors, where they were trained.
    pub inner: Option<Factors>,
    /// SGD epochs, as chosen on the inner split.
    pub epochs: usize,
    /// Progress of the evaluation model's and the refit's iALS fits.
    pub eval_v: Verbosity,
    pub all_v: Verbosity,
}

/// The evaluation model's and the exported model's weights. The iALS fits run one after the
/// other, each warm-started from the one before (inner → evaluation → all rows); the SGD parts
/// run beside them, one thread each.
pub(super) fn final_fits(
    cfg: &ValidParams,
    data: &Dataset,
    f: FinalFits<'_>,
) -> anyhow::Result<(Option<Weights>, Option<Weights>)> {
    let sgd_cfg = match cfg.objective() {
        Objective::Hybrid => Some(rating_head_config(cfg)),
        _ if cfg.uses_als() => None,
        _ => Some(cfg.clone()),
    };
    let quiet = Verbosity::Quiet;
    let (epochs, sgd_cfg) = (f.epochs, sgd_cfg.as_ref());
    std::thread::scope(|scope| {
        let sgd_eval =
            sgd_cfg.zip(f.eval).map(|(c, rows)| scope.spawn(move || fit_sgd(c, data, rows, epochs, quiet)));
        let sgd_all =
            sgd_cfg.zip(f.all).map(|(c, rows)| scope.spawn(move || fit_sgd(c, data, rows, epochs, quiet)));
        let (mut als_eval, mut als_all) = (None, None);
        if cfg.uses_als() {
            als_eval = f.eval.map(|rows| fit_als(cfg, data, rows, f.inner.as_ref(), f.eval_v)).transpose()?;
            let start = als_eval.as_ref().or(f.inner.as_ref());
            als_all = f.all.map(|rows| fit_als(cfg, data, rows, start, f.all_v)).transpose()?;
        }
        let (sgd_eval, sgd_all) = (join(sgd_eval)?, join(sgd_all)?);
        Ok((assemble(als_eval, sgd_eval), assemble(als_all, sgd_all)))
    })
}

/// The SGD part a thread trained, if one was started.
fn join(
    h: Option<std::thread::ScopedJoinHandle<'_, anyhow::Result<Factors>>>,
) -> anyhow::Result<Option<Factors>> {
    match h {
        None => Ok(None),
        Some(h) => h.join().map_err(|_| anyhow::anyhow!("an SGD training thread panicked"))?.map(Some),
    }
}

/// One model's weights from its iALS factors and its SGD-trained part, whichever it has.
fn assemble(als: Option<Factors>, sgd: Option<Factors>) -> Option<Weights> {
    match (als, sgd) {
        (Some(main), head) => Some(Weights { main, head, sequence: None }),
        (None, Some(main)) => Some(Weights { main, head: None, sequence: None }),
        (None, None) => None,
    }
}
