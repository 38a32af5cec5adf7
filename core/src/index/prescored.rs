//! Choosing the lists to probe by integer pre-score, proven to choose as the f32 scores do.
//!
//! In wasm, scoring the query against every centroid in f32 costs two to three times what it
//! costs natively (1,000 × 64: 12–15 µs in Node against 5–6 µs; V8 keeps fewer vectors in
//! registers than LLVM does and spills the query), while the integer kernel of [`Int8Blocks`]
//! keeps three vectors live and costs about the same in both. So the centroids (quantised to
//! int8 once, at load) are pre-scored, the best `nprobe + COARSE_MARGIN` are re-scored in f32
//! exactly as [`Ivf::list_scores`] scores them, and the best `nprobe` of those are probed, but
//! only when [`QuantizedQuery::error_bound`] and [`Int8Blocks::quantization_bound`] prove that
//! no list left out could have scored above them. Otherwise (near-ties, a query the integers
//! cannot hold) every list is scored in f32. Either way the lists and their order are the f32
//! order's, bit for bit. Natively the two scans cost the same, so every target takes this one
//! path (and every native test of the index exercises it).

use super::{Ivf, ProbeOrder, list_order};
use crate::kernel::prescore::{Int8Blocks, QuantizedQuery};
use crate::kernel::{Scored, TopN, dot};

/// Lists re-scored in f32 beyond the `nprobe` probed.
const COARSE_MARGIN: usize = 6;

/// The centroids in int8, for pre-scoring the lists.
#[derive(Debug)]
pub(crate) struct Coarse {
    table: Int8Blocks,
    /// The largest `|centroid bias|`.
    bias_max: f32,
}

impl Coarse {
    pub(crate) fn new(centroids: &[f32], centroid_bias: &[f32], dim: usize) -> Self {
        Self {
            table: Int8Blocks::quantize(centroids, dim),
            bias_max: centroid_bias.iter().fold(0f32, |m, b| m.max(b.abs())),
        }
    }
}

impl Ivf<'_> {
    /// The lists in probe order for `query`: its first `nprobe` by pre-score where that is
    /// proven, or all of them scored in f32.
    pub(super) fn probe_order(&self, query: &[f32], dim: usize, nprobe: usize) -> ProbeOrder {
        if let Some(first) = self.prescored_lists(query, dim, nprobe) {
            return ProbeOrder::prefix(first, nprobe);
        }
        ProbeOrder::new(self.list_scores(query, dim), nprobe)
    }

    /// The first `nprobe` lists in probe order with their f32 scores, when the pre-scores prove
    /// which they are.
    fn prescored_lists(&self, factors: &[f32], dim: usize, nprobe: usize) -> Option<Vec<Scored>> {
        let lists = self.lists();
        let table = &self.coarse.table;
        if table.rows() != lists {
            return None;
        }
        let query = QuantizedQuery::new(factors)?;
        let keep = (nprobe + COARSE_MARGIN).min(lists);
        let mut pool = TopN::new(keep);
        table.for_each_block(&query, |first, pre| {
            for (k, &d) in pre.iter().enumerate() {
                let Some(&b) = self.centroid_bias.get(first + k) else { break };
                let score = d + b;
                if score >= pool.threshold() {
                    pool.push(Scored { score, index: (first + k) as u32 });
                }
            }
        });
        let pool = pool.into_sorted();
        let a_min = pool.last()?.score;
        // The scores `list_scores` gives these lists, bit for bit.
        let mut exact: Vec<Scored> = pool
            .iter()
            .map(|c| {
                let k = c.index as usize;
                let row = self.centroids.get(k * dim..(k + 1) * dim).unwrap_or(&[]);
                Scored { score: dot(factors, row) + self.centroid_bias[k], index: c.index }
            })
            .collect();
        exact.sort_unstable_by(list_order);
        exact.truncate(nprobe);
        if keep < lists {
            // A list left out scores at most `a_min` by pre-score, so at most `a_min + err` in
            // f32; it must stay below the last list kept. NaN and infinities never pass.
            let err =
                query.error_bound(table.max_scale, self.coarse.bias_max) + table.quantization_bound(factors);
            let proven = (a_min + err).partial_cmp(&exact.last()?.score) == Some(std::cmp::Ordering::Less);
            if !proven {
                return None;
            }
        }
        Some(exact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::build::SplitMix;

    /// Roughly standard normal draws (a sum of twelve uniforms) from the index builder's
    /// generator.
    fn normal(rng: &mut SplitMix) -> f32 {
        (0..12).map(|_| (rng.next() >> 40) as f32 / (1u64 << 24) as f32).sum::<f32>() - 6.0
    }

    /// An index of `lists` centroids (with `copies` copies of each distinct one) and its
    /// int8 table, built here whatever the target.
    fn index(lists: usize, dim: usize, copies: usize, seed: u64) -> Ivf<'static> {
        let mut rng = SplitMix(seed);
        let distinct: Vec<f32> = (0..lists.div_ceil(copies) * dim).map(|_| normal(&mut rng)).collect();
        let centroids: Vec<f32> =
            (0..lists).flat_map(|k| distinct[(k / copies) * dim..(k / copies + 1) * dim].to_vec()).collect();
        let bias: Vec<f32> =
            (0..lists).map(|k| if copies > 1 { 0.0 } else { 0.1 * (k as f32).sin() }).collect();
        let coarse = Coarse {
            table: Int8Blocks::quantize(&centroids, dim),
            bias_max: bias.iter().fold(0f32, |m, b| m.max(b.abs())),
        };
        let offsets: Vec<u32> = (0..=lists as u32).collect();
        Ivf {
            centroids: centroids.into(),
            centroid_bias: bias.into(),
            offsets: offsets.into(),
            items: None,
            nprobe: 1,
            coarse,
        }
    }

    /// Queries near the centroids; every proven choice is the f32 order's first `nprobe`, bit
    /// for bit. Returns how many of the checks were proven.
    fn compare(ivf: &Ivf<'_>, dim: usize, seed: u64) -> (usize, usize) {
        let mut rng = SplitMix(seed);
        let (mut proven, mut total) = (0, 0);
        for q in 0..60 {
            let k = (q * 13) % ivf.lists();
            let query: Vec<f32> =
                (0..dim).map(|d| ivf.centroids[k * dim + d] + 0.4 * normal(&mut rng)).collect();
            for nprobe in [1, 2, 5, ivf.lists()] {
                let mut order = ProbeOrder::new(ivf.list_scores(&query, dim), nprobe);
                let want: Vec<(usize, u32)> = (0..nprobe)
                    .map(|i| {
                        let l = order.get(i, Vec::new).unwrap();
                        (l, order.lists[i].score.to_bits())
                    })
                    .collect();
                if let Some(got) = ivf.prescored_lists(&query, dim, nprobe) {
                    let got: Vec<(usize, u32)> =
                        got.iter().map(|s| (s.index as usize, s.score.to_bits())).collect();
                    assert_eq!(got, want, "query {q}, nprobe {nprobe}");
                    proven += 1;
                }
                total += 1;
            }
        }
        (proven, total)
    }

    #[test]
    fn pre_scores_choose_the_lists_the_f32_scores_choose() {
        for dim in [64, 20, 16, 3] {
            let ivf = index(300, dim, 1, 7 + dim as u64);
            let (proven, total) = compare(&ivf, dim, dim as u64);
            assert!(proven * 10 >= total * 9, "dim {dim}: only {proven} of {total} proven");
        }
    }

    #[test]
    fn exact_ties_are_left_to_the_f32_scores() {
        // Twenty copies of every centroid: the cut after the kept lists falls between equal
        // scores, which no bound separates, so those choices are not proven.
        let ivf = index(200, 32, 20, 3);
        let (proven, total) = compare(&ivf, 32, 5);
        assert!(proven < total, "every choice was proven despite the ties");
    }

    #[test]
    fn a_prefix_widens_to_the_full_order() {
        let ivf = index(50, 8, 1, 11);
        let query: Vec<f32> = ivf.centroids[..8].to_vec();
        let first = ivf.prescored_lists(&query, 8, 2).expect("a clear choice");
        let mut prefix = ProbeOrder::prefix(first, 2);
        let mut full = ProbeOrder::new(ivf.list_scores(&query, 8), 2);
        for k in 0..55 {
            assert_eq!(prefix.get(k, || ivf.list_scores(&query, 8)), full.get(k, Vec::new), "list {k}");
        }
    }
}
