//! Training the sequence network: cross-entropy of the next item at every slot, against the
//! whole catalogue or against negatives sampled per batch, with Adam; early stopping on the
//! inner split's next items, scored over every unseen item as in production.

use std::time::Instant;

use candle_core::backprop::GradStore;
use candle_core::{D, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use super::data::{example, window};
use super::net::{Batch, Net, Shape};
use super::{ops, output};
use crate::train::fit::Verbosity;

/// Hyperparameters of the sequence model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SeqParams {
    /// Layer width.
    pub dim: usize,
    /// Longest history read.
    pub max_len: usize,
    /// Transformer blocks.
    pub blocks: usize,
    /// Most epochs (early stopping may end sooner).
    pub epochs: usize,
    /// Epochs without improvement on the inner split before the learning rate is cut, and
    /// after the last cut before stopping (0: never).
    pub patience: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Users per batch.
    pub batch_users: usize,
    /// Sampled negatives per batch (0, or at least the catalogue: the full softmax).
    pub negatives: usize,
    /// Dropout on the embeddings and on each residual branch.
    pub dropout: f32,
    /// Seed of the initial weights, the batch order, dropout and negatives.
    pub seed: u64,
}

/// One epoch's figures.
#[derive(Debug, Clone, Serialize)]
pub struct SeqEpoch {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    pub loss: f64,
    /// Inner-split HR@10 (None without validation).
    pub hr: Option<f64>,
    /// Inner-split NDCG@10.
    pub ndcg: Option<f64>,
    /// Seconds of training (without validation).
    pub seconds: f64,
    /// Training interactions (target slots) per second.
    pub per_second: f64,
}

/// Held-out next items: for each user, the history the network reads, the items to exclude
/// from the ranking, and the item that came next.
pub struct Holdout {
    /// `(history, excluded (sorted), next item)` per user.
    pub users: Vec<(Vec<u32>, Vec<u32>, u32)>,
}

/// What a fit produced.
pub struct SeqFit {
    /// The network with the best inner-split NDCG@10 (the last epoch without validation).
    pub net: Net,
    /// The epoch whose weights were kept.
    pub best_epoch: usize,
    /// Every epoch run.
    pub history: Vec<SeqEpoch>,
    /// Whether the time budget ended the training (before early stopping or the last epoch).
    pub out_of_time: bool,
}

fn snapshot(net: &Net) -> candle_core::Result<Vec<Tensor>> {
    net.vars().iter().map(|v| v.as_tensor().copy()).collect()
}

fn restore(net: &Net, saved: &[Tensor]) -> candle_core::Result<()> {
    for (v, t) in net.vars().iter().zip(saved) {
        v.set(t)?;
    }
    Ok(())
}

/// The loss of one batch: cross-entropy of each target slot's next item (`targets` holds
/// `u32::MAX` at padded slots), and the number of target slots.
pub fn batch_loss(
    net: &Net,
    p: &SeqParams,
    (inputs, targets, len): (&[u32], &[u32], usize),
    rng: &mut ChaCha8Rng,
    dev: &Device,
) -> candle_core::Result<(Tensor, usize)> {
    let batch = Batch::new(inputs, len, dev)?;
    let out = net.forward(&batch, p.dropout, Some(rng))?;
    let (slots, tgt): (Vec<u32>, Vec<u32>) =
        targets.iter().enumerate().filter(|(_, t)| **t != u32::MAX).map(|(k, &t)| (k as u32, t)).unzip();
    let count = slots.len();
    let h = out.index_select(&Tensor::from_vec(slots, count, dev)?, 0)?;
    let table = net.item_table()?;
    let items = net.shape.items;
    let logits = if p.negatives == 0 || p.negatives >= items {
        return Ok((output::cross_entropy(&h, &table, &tgt)?, count));
    } else {
        let negs: Vec<u32> = sample(rng, items, p.negatives).into_iter().map(|i| i as u32).collect();
        // A sampled negative equal to the slot's target is masked out (an accidental hit).
        let hits: Vec<f32> =
            tgt.iter().flat_map(|&t| negs.iter().map(move |&n| if n == t { -1e9 } else { 0.0 })).collect();
        let pos_rows = table.index_select(&Tensor::from_slice(&tgt, count, dev)?, 0)?;
        let neg_rows = table.index_select(&Tensor::from_vec(negs, p.negatives, dev)?, 0)?;
        let pos = (&h * &pos_rows)?.sum_keepdim(D::Minus1)?;
        let neg = (h.matmul(&neg_rows.t()?)? + Tensor::from_vec(hits, (count, p.negatives), dev)?)?;
        Tensor::cat(&[&pos, &neg], 1)?
    };
    Ok((ops::cross_entropy(&logits, &vec![0; count])?, count))
}

/// How often the learning rate is cut when the inner split stops improving (`patience` epochs
/// without a gain) before training stops, and by what factor. On MovieLens-1M the inner HR@10
/// levels off near 0.30 at the committed rate while the loss still falls.
const LR_CUTS: usize = 2;
const LR_CUT: f64 = 0.3;

/// Parts of a batch whose gradients are computed side by side and then added in order. Most of
/// the network's ops are too small for candle to spread over cores, so two parts keep two cores
/// busy; the number is fixed (not the thread count), so training stays deterministic for a seed
/// on any machine.
const PARTS: usize = 2;

/// One optimiser step on a batch of users: the mean loss over its target slots, and their count.
fn train_step(
    net: &Net,
    p: &SeqParams,
    histories: &[Vec<u32>],
    users: &[usize],
    opt: &mut AdamW,
    rng: &mut ChaCha8Rng,
    dev: &Device,
) -> candle_core::Result<(f64, usize)> {
    let slots = |u: usize| (histories[u].len() - 1).min(p.max_len);
    let total: usize = users.iter().map(|&u| slots(u)).sum();
    let parts: Vec<(&[usize], u64)> =
        users.chunks(users.len().div_ceil(PARTS).max(1)).map(|part| (part, rng.random())).collect();
    let results: Vec<candle_core::Result<(GradStore, f64)>> = parts
        .par_iter()
        .map(|&(part, seed)| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let len = part.iter().map(|&u| slots(u)).max().unwrap_or(1);
            let (mut inputs, mut targets) = (Vec::new(), Vec::new());
            for &u in part {
                example(&histories[u], len, &mut inputs, &mut targets);
            }
            let (loss, count) = batch_loss(net, p, (&inputs, &targets, len), &mut rng, dev)?;
            let sum = f64::from(loss.to_scalar::<f32>()?) * count as f64;
            // Each part's mean, weighted by its share of the batch's slots: the batch's mean.
            let grads = (loss * (count as f64 / total.max(1) as f64))?.backward()?;
            Ok((grads, sum))
        })
        .collect();
    let (mut grads, mut sum) = (None::<GradStore>, 0.0);
    for r in results {
        let (g, s) = r?;
        sum += s;
        match grads.as_mut() {
            None => grads = Some(g),
            Some(acc) => acc.extend(g)?,
        }
    }
    if let Some(g) = grads {
        opt.step(&g)?;
    }
    Ok((sum / total.max(1) as f64, total))
}

/// The last slot's output for each history: the user's state, `histories.len() × d`. The
/// histories are run in batches of similar length, so a batch is little padding.
pub fn states(net: &Net, histories: &[&[u32]], dev: &Device) -> candle_core::Result<Vec<f32>> {
    let d = net.shape.dim;
    let slots = |h: &[u32]| h.len().clamp(1, net.shape.max_len);
    let mut order: Vec<usize> = (0..histories.len()).collect();
    order.sort_by_key(|&u| slots(histories[u]));
    let chunks: Vec<&[usize]> = order.chunks(256).collect();
    let done: Vec<candle_core::Result<Vec<f32>>> = chunks
        .par_iter()
        .map(|chunk| {
            let l = chunk.iter().map(|&u| slots(histories[u])).max().unwrap_or(1);
            let mut rows = Vec::with_capacity(chunk.len() * l);
            for &u in *chunk {
                window(histories[u], l, &mut rows);
            }
            let batch = Batch::new(&rows, l, dev)?;
            let y = net.forward(&batch, 0.0, None)?;
            y.reshape((batch.size, l, d))?.narrow(1, l - 1, 1)?.flatten_all()?.to_vec1::<f32>()
        })
        .collect();
    let mut out = vec![0f32; histories.len() * d];
    for (chunk, last) in chunks.iter().zip(done) {
        for (&u, state) in chunk.iter().zip(last?.chunks(d)) {
            out[u * d..(u + 1) * d].copy_from_slice(state);
        }
    }
    Ok(out)
}

/// HR@10 and NDCG@10 of the next items, ranked over every item not excluded.
pub fn evaluate(net: &Net, holdout: &Holdout, dev: &Device) -> candle_core::Result<(f64, f64)> {
    let hist: Vec<&[u32]> = holdout.users.iter().map(|(h, _, _)| h.as_slice()).collect();
    let st = states(net, &hist, dev)?;
    let d = net.shape.dim;
    let table = net.item_table()?;
    let (mut hr, mut ndcg) = (0.0, 0.0);
    for (chunk, users) in st.chunks(256 * d).zip(holdout.users.chunks(256)) {
        let h = Tensor::from_slice(chunk, (users.len(), d), dev)?;
        let scores = h.matmul(&table.t()?)?.to_vec2::<f32>()?;
        let ranks: Vec<usize> = scores
            .par_iter()
            .zip(users)
            .map(|(s, (_, excluded, next))| {
                let target = s[*next as usize];
                s.iter()
                    .enumerate()
                    .filter(|&(i, &v)| v > target && excluded.binary_search(&(i as u32)).is_err())
                    .count()
            })
            .collect();
        for above in ranks.into_iter().filter(|&a| a < 10) {
            hr += 1.0;
            ndcg += 1.0 / (above as f64 + 2.0).log2();
        }
    }
    let n = holdout.users.len().max(1) as f64;
    Ok((hr / n, ndcg / n))
}

fn progress(v: Verbosity, batches: usize) -> ProgressBar {
    if v == Verbosity::Quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(batches as u64);
    bar.set_style(
        ProgressStyle::with_template("sequence epoch {msg} [{bar:30}] {pos}/{len} batches eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

/// Trains on `histories` (each user's items, oldest first), keeping the weights with the best
/// NDCG@10 on `holdout` when given. With a `deadline`, no epoch starts that would end after it
/// at the pace of the last one (the first epoch always runs).
pub fn fit(
    p: &SeqParams,
    items: usize,
    histories: &[Vec<u32>],
    holdout: Option<&Holdout>,
    deadline: Option<Instant>,
    dev: &Device,
    v: Verbosity,
) -> anyhow::Result<SeqFit> {
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    let shape = Shape { items, dim: p.dim, max_len: p.max_len, blocks: p.blocks };
    let net = Net::new(shape, &mut rng, dev)?;
    let mut opt =
        AdamW::new(net.vars(), ParamsAdamW { lr: p.lr, weight_decay: 0.0, ..ParamsAdamW::default() })?;
    // Batches of users with histories of similar length, so little of a batch is padding; the
    // order of the batches is shuffled every epoch.
    let mut users: Vec<usize> = (0..histories.len()).filter(|&u| histories[u].len() >= 2).collect();
    users.sort_by_key(|&u| (histories[u].len().min(p.max_len + 1), u));
    let mut batches: Vec<&[usize]> = users.chunks(p.batch_users).collect();
    let (mut history, mut best) = (Vec::new(), None::<(f64, usize, Vec<Tensor>)>);
    let mut out_of_time = false;
    // The epoch of the last gain on the inner split, or of the last cut of the learning rate.
    let (mut since, mut cuts) = (0, 0);
    let mut last_epoch = std::time::Duration::ZERO;
    for epoch in 1..=p.epochs {
        if deadline.is_some_and(|d| epoch > 1 && Instant::now() + last_epoch > d) {
            out_of_time = true;
            break;
        }
        batches.shuffle(&mut rng);
        let started = Instant::now();
        let bar = progress(v, batches.len());
        bar.set_message(format!("{epoch}/{}", p.epochs));
        let (mut total, mut slots) = (0.0f64, 0usize);
        for chunk in &batches {
            let (loss, count) = train_step(&net, p, histories, chunk, &mut opt, &mut rng, dev)?;
            total += loss * count as f64;
            slots += count;
            bar.inc(1);
        }
        bar.finish_and_clear();
        let seconds = started.elapsed().as_secs_f64();
        let (hr, ndcg) = match holdout {
            Some(h) => {
                let (hr, ndcg) = evaluate(&net, h, dev)?;
                (Some(hr), Some(ndcg))
            }
            None => (None, None),
        };
        let e = SeqEpoch {
            epoch,
            loss: total / slots.max(1) as f64,
            hr,
            ndcg,
            seconds,
            per_second: slots as f64 / seconds.max(1e-9),
        };
        if v == Verbosity::Normal {
            eprintln!(
                "sequence epoch {epoch}: loss {:.4}, inner HR@10 {}, NDCG@10 {}, {:.1} s ({:.0} interactions/s)",
                e.loss,
                hr.map_or("-".into(), |x| format!("{x:.4}")),
                ndcg.map_or("-".into(), |x| format!("{x:.4}")),
                e.seconds,
                e.per_second
            );
        }
        history.push(e);
        last_epoch = started.elapsed();
        if let Some(score) = ndcg {
            if best.as_ref().is_none_or(|(b, _, _)| score > *b) {
                best = Some((score, epoch, snapshot(&net)?));
                since = epoch;
            } else if p.patience > 0 && epoch - since >= p.patience {
                if cuts == LR_CUTS {
                    break;
                }
                // A plateau: a smaller step before giving up.
                cuts += 1;
                opt.set_learning_rate(opt.learning_rate() * LR_CUT);
                since = epoch;
                if v == Verbosity::Normal {
                    eprintln!(
                        "sequence: no gain in {} epochs, learning rate now {:.2e}",
                        p.patience,
                        opt.learning_rate()
                    );
                }
            }
        }
    }
    let best_epoch = match best {
        Some((_, epoch, saved)) => {
            restore(&net, &saved)?;
            epoch
        }
        None => history.len(),
    };
    Ok(SeqFit { net, best_epoch, history, out_of_time })
}
