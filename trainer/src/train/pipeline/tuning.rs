//! An iALS model's top-N lists under several recency settings at once, in batched products.
//!
//! A setting (weight `w`, decay `δ`) scores item `i` for user `u` as
//! `(p_u + w·r_{u,δ})·q_i = p_u·q_i + w·(r_{u,δ}·q_i)`, where `r_{u,δ}` is the decayed mean of the
//! factors of the user's latest items, as the core adds it (`core/src/model/recency.rs`). So one
//! matrix product of a batch of users' vectors (`p_u` and one `r_{u,δ}` per decay) with the item
//! factors gives every setting's scores: 1 + 3 products over the catalogue for the 16 settings,
//! where ranking each setting through the core scans it 16 times. Each list is the core's: the
//! best [`K`] unseen items, ties to the lower index. The scores can differ from the core's in the
//! last bits (another order of the same sums), so a near-tie could fall the other way; a test
//! checks that every setting's metrics equal the core's, ranked setting by setting. The
//! evaluation table of an iALS model (with and without its recency term) is ranked the same way.
//!
//! Used for models whose ranking score is the plain dot product (iALS: no biases).

use candle_core::{Device, Tensor};
use edgerec_core::{Model, RecencyInfo};
use multiversion::multiversion;
use rayon::prelude::*;

use crate::train::eval::{self, K, Metrics, Sample, TestSet};

/// Scores held at once: the batch of users is sized to keep its score matrix near 256 MB.
const SCORES_PER_BATCH: usize = 1 << 26;
/// Items per block of the top-N scan: a block whose best score cannot enter is skipped.
const BLOCK: usize = 256;

/// The top-N metrics of each setting on `test` (users sampled as [`eval::metrics`] samples
/// them). `model` holds the stored histories (its recency window at least each setting's).
pub(super) fn trials(
    model: &Model<'_>,
    test: &TestSet,
    settings: &[RecencyInfo],
    sample: Sample,
) -> anyhow::Result<Vec<Metrics>> {
    let (n, d) = (model.num_items(), model.dim());
    let users = eval::ranked_users(test, sample.users, sample.seed);
    let mut decays: Vec<(f32, usize)> =
        settings.iter().filter(|s| s.weight != 0.0).map(|s| (s.decay, s.window)).collect();
    decays.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    decays.dedup();
    let rows_per_user = 1 + decays.len();
    let items: Vec<f32> = (0..n)
        .map(|i| model.item_factors(i).ok_or_else(|| anyhow::anyhow!("item {i} has no factors")))
        .collect::<anyhow::Result<Vec<&[f32]>>>()?
        .concat();
    let items_t = Tensor::from_vec(items, (n, d), &Device::Cpu)?.t()?;
    let batch = (SCORES_PER_BATCH / (rows_per_user * n).max(1)).clamp(1, 256);
    // lists[s][k]: setting s's list for the k-th user.
    let mut lists: Vec<Vec<Vec<usize>>> = vec![Vec::with_capacity(users.len()); settings.len()];
    for chunk in users.chunks(batch) {
        let mut queries = Vec::with_capacity(chunk.len() * rows_per_user * d);
        for (u, _) in chunk {
            let p = model.user_factors(*u).ok_or_else(|| anyhow::anyhow!("user {u} has no factors"))?;
            queries.extend_from_slice(p);
            for &(decay, window) in &decays {
                queries.extend(recency_vector(model, *u, decay, window, d));
            }
        }
        let rows = chunk.len() * rows_per_user;
        let scores = Tensor::from_vec(queries, (rows, d), &Device::Cpu)?.matmul(&items_t)?;
        let scores: Vec<f32> = scores.flatten_all()?.to_vec1()?;
        let per_user: Vec<Vec<Vec<usize>>> = chunk
            .par_iter()
            .zip(scores.par_chunks_exact(rows_per_user * n))
            .map(|((u, _), rows)| {
                let (base, recs) = rows.split_at(n);
                let mut base = base.to_vec();
                for (i, _) in model.seen_items(*u) {
                    base[i] = f32::NEG_INFINITY;
                }
                settings
                    .iter()
                    .map(|s| {
                        let rec = decays
                            .iter()
                            .position(|&(decay, window)| {
                                s.weight != 0.0 && (decay, window) == (s.decay, s.window)
                            })
                            .map(|k| (&recs[k * n..(k + 1) * n], s.weight));
                        top_k(&base, rec, K)
                    })
                    .collect()
            })
            .collect();
        for user_lists in per_user {
            for (s, list) in user_lists.into_iter().enumerate() {
                lists[s].push(list);
            }
        }
    }
    Ok(lists
        .iter()
        .map(|l| {
            let mut m = Metrics { users: users.len(), ..Metrics::default() };
            eval::top_n_metrics(&users, l, n, &mut m);
            m
        })
        .collect())
}

/// `r_{u,δ}`: the decayed mean of the factors of the user's latest `window` items, as the core
/// sums it (zero without history).
fn recency_vector(model: &Model<'_>, user: usize, decay: f32, window: usize, d: usize) -> Vec<f32> {
    let mut acc = vec![0f32; d];
    let (mut w, mut total) = (1.0f32, 0.0f32);
    for &item in model.recent_items(user).iter().take(window) {
        let Some(row) = model.item_factors(item as usize) else { continue };
        for (a, &q) in acc.iter_mut().zip(row) {
            *a += w * q;
        }
        total += w;
        w *= decay;
    }
    if total > 0.0 {
        for a in &mut acc {
            *a /= total;
        }
    }
    acc
}

/// The `k` best items by `base + weight·rec` (or `base` alone), best first, ties to the lower
/// index; items scored −∞ (seen) never enter.
#[multiversion(targets("x86_64+avx512f+avx512vl", "x86_64+avx2"))]
fn top_k(base: &[f32], rec: Option<(&[f32], f32)>, k: usize) -> Vec<usize> {
    let mut kept: Vec<(f32, u32)> = Vec::with_capacity(k + 1);
    let mut threshold = f32::NEG_INFINITY;
    let mut buf = [0f32; BLOCK];
    for (b, start) in (0..base.len()).step_by(BLOCK).enumerate() {
        let end = (start + BLOCK).min(base.len());
        let scores = &mut buf[..end - start];
        match rec {
            Some((rec, weight)) => {
                for ((o, &x), &y) in scores.iter_mut().zip(&base[start..end]).zip(&rec[start..end]) {
                    *o = x + weight * y;
                }
            }
            None => scores.copy_from_slice(&base[start..end]),
        }
        if block_max(scores) <= threshold {
            continue;
        }
        for (j, &s) in scores.iter().enumerate() {
            if s > threshold {
                let index = (b * BLOCK + j) as u32;
                let at = kept.partition_point(|&(ks, ki)| ks > s || (ks == s && ki < index));
                kept.insert(at, (s, index));
                kept.truncate(k);
                if kept.len() == k {
                    threshold = kept[k - 1].0;
                }
            }
        }
    }
    kept.into_iter().map(|(_, i)| i as usize).collect()
}

/// The largest value (−∞ for none; NaN is ignored), in 16 lanes so that it vectorises.
#[inline(always)]
fn block_max(v: &[f32]) -> f32 {
    let (chunks, tail) = v.as_chunks::<16>();
    let mut lanes = [f32::NEG_INFINITY; 16];
    for c in chunks {
        for j in 0..16 {
            lanes[j] = lanes[j].max(c[j]);
        }
    }
    lanes.iter().chain(tail).fold(f32::NEG_INFINITY, |a, &b| a.max(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::csv::dataset;
    use crate::synthetic::generator::GenConfig;
    use crate::train::config::{Objective, TrainParams};
    use crate::train::experiment::ExperimentParams;
    use crate::train::fit::Verbosity;
    use crate::train::pipeline::{TUNING_WINDOW, Weights, builder, fits, window_for};
    use crate::train::split;

    /// Every setting's metrics from the batched lists equal the core's, ranked setting by setting.
    #[test]
    fn batched_trials_are_the_cores_metrics() -> anyhow::Result<()> {
        let data =
            dataset(GenConfig { users: 300, items: 400, interactions: 12_000, ..GenConfig::default() })?;
        let cfg = TrainParams { objective: Objective::Ranking, ..TrainParams::default() }.check()?;
        let exp = ExperimentParams::default().check()?;
        let rank = split::item_id_rank(&data);
        let parts = split::outer(&data.interactions, &exp, &rank);
        let inner = split::inner(&parts.train, exp.split(), exp.seed(), &rank);
        let main = fits::fit_als(&cfg, &data, &inner.train, None, Verbosity::Quiet)?;
        let w = Weights { main, head: None, sequence: None };
        let start = RecencyInfo { weight: 0.0, decay: 1.0, window: TUNING_WINDOW };
        let bytes = builder(&cfg, &data, &w, &inner.train, Some(start), &rank).build()?;
        let mut model = Model::from_bytes(&bytes)?;
        let test = TestSet::new(&model, &data, &inner.val);
        let settings: Vec<RecencyInfo> = [(0.0, 0.5), (0.5, 0.5), (2.0, 0.75), (8.0, 0.9), (1.0, 0.9)]
            .iter()
            .map(|&(weight, decay)| RecencyInfo { weight, decay, window: window_for(decay) })
            .collect();
        let sample = Sample { users: 0, seed: 3 };
        let batched = trials(&model, &test, &settings, sample)?;
        assert!(batched[0].users > 250, "{} users ranked", batched[0].users);
        for (s, b) in settings.iter().zip(&batched) {
            model.set_recency(*s)?;
            let m = eval::metrics(&model, &test, false, sample.users, sample.seed)?;
            assert_eq!((b.hr, b.recall, b.ndcg, b.coverage), (m.hr, m.recall, m.ndcg, m.coverage), "{s:?}");
        }
        assert!(batched.iter().any(|b| b.ndcg != batched[0].ndcg), "recency changed no list");
        Ok(())
    }

    /// The selection against a full sort, with ties, seen items and a short block.
    #[test]
    fn top_k_is_the_sorted_prefix() {
        let n = 3 * BLOCK + 17;
        let base: Vec<f32> = (0..n)
            .map(|i| if i % 7 == 0 { f32::NEG_INFINITY } else { ((i * 37) % 101) as f32 / 10.0 })
            .collect();
        let rec: Vec<f32> = (0..n).map(|i| ((i * 13) % 29) as f32 / 7.0).collect();
        for (r, k) in [(None, 10), (Some((&rec[..], 0.5f32)), 10), (Some((&rec[..], 4.0)), 25)] {
            let score = |i: usize| r.map_or(base[i], |(rec, w): (&[f32], f32)| base[i] + w * rec[i]);
            let mut all: Vec<usize> = (0..n).filter(|&i| score(i) > f32::NEG_INFINITY).collect();
            all.sort_by(|&a, &b| score(b).total_cmp(&score(a)).then(a.cmp(&b)));
            all.truncate(k);
            assert_eq!(top_k(&base, r, k), all);
        }
    }
}
