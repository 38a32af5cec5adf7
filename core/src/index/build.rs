//! Building the IVF index: k-means over the item factors with a fixed seed, so the same
//! factors always give the same index (on every target).

use crate::kernel::{dot, for_each_block};
use crate::{Error, Result};

/// Catalogues smaller than this get no index from [`IndexParams::auto`]: exact search over
/// them takes well under a millisecond.
pub const AUTO_INDEX_MIN_ITEMS: usize = 50_000;

/// Settings for [`build_index`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexParams {
    /// Number of lists (k-means centroids), `1..=num_items`.
    pub lists: usize,
    /// Lists a search probes by default, `1..=lists`.
    pub nprobe: usize,
    /// k-means iterations (Lloyd steps) on the training sample.
    pub iterations: usize,
    /// Seed of the sample and the initial centroids.
    pub seed: u64,
    /// Training points per list: k-means runs on at most `lists · sample_per_list` items.
    pub sample_per_list: usize,
}

impl IndexParams {
    /// The settings `--index auto` uses: no index below [`AUTO_INDEX_MIN_ITEMS`] items;
    /// otherwise about √n lists, of which a twentieth (at least 8) are probed.
    pub fn auto(num_items: usize) -> Option<Self> {
        if num_items < AUTO_INDEX_MIN_ITEMS {
            return None;
        }
        let lists = ((num_items as f64).sqrt().round() as usize).clamp(1, num_items);
        Some(Self::with_lists(lists))
    }

    /// Default settings for `lists` lists.
    pub fn with_lists(lists: usize) -> Self {
        let lists = lists.max(1);
        Self { lists, nprobe: (lists / 20).max(8).min(lists), iterations: 20, seed: 42, sample_per_list: 64 }
    }
}

/// An index in the builder's own item order, ready for [`crate::ModelBuilder::index`].
#[derive(Debug, Clone, PartialEq)]
pub struct IndexParts {
    /// Row-major `[lists, dim]`.
    pub centroids: Vec<f32>,
    /// `[lists]`: the mean item bias of each list.
    pub centroid_bias: Vec<f32>,
    /// `lists[k]`: the items of list `k`; every item is in exactly one list.
    pub lists: Vec<Vec<u32>>,
    /// Lists a search probes by default.
    pub nprobe: usize,
}

/// SplitMix64, so the core needs no RNG crate.
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The nearest centroid of `v` by L2 distance: argmax of `v·c − ‖c‖²/2`, ties to the lower.
fn nearest(v: &[f32], centroids: &[f32], half_norms: &[f32], dim: usize) -> usize {
    let (mut best, mut best_score) = (0usize, f32::NEG_INFINITY);
    for_each_block(v, centroids, dim, |first, dots| {
        for (k, (&d, &h)) in dots.iter().zip(&half_norms[first..]).enumerate() {
            let s = d - h;
            if s > best_score {
                (best, best_score) = (first + k, s);
            }
        }
    });
    best
}

/// Greedy k-means++ seeding (as scikit-learn seeds): each further centroid is the best of
/// `2 + ln(lists)` sample points drawn with probability proportional to their squared distance
/// from the nearest centroid so far, the best being the one that leaves the smallest total
/// squared distance. Plain k-means++ (one draw) often seeds two centroids in one cluster and
/// none in another, which Lloyd steps cannot undo: on 1,000 clustered centres it left about a
/// tenth of the lists merged or split. Sums are f64 in a fixed order, so every target draws the
/// same points.
///
/// `points` is the sample, row-major `[m, dim]`.
fn plus_plus(points: &[f32], dim: usize, lists: usize, rng: &mut SplitMix) -> Vec<f32> {
    let m = points.len() / dim;
    let point = |k: usize| &points[k * dim..(k + 1) * dim];
    let norms: Vec<f32> = (0..m).map(|k| dot(point(k), point(k))).collect();
    // Squared distances from point `c` to every point.
    let distances = |c: usize, out: &mut Vec<f64>| {
        out.clear();
        for_each_block(point(c), points, dim, |first, dots| {
            for (k, &d) in (first..).zip(dots) {
                out.push(f64::from((norms[k] + norms[c] - 2.0 * d).max(0.0)));
            }
        });
    };
    let trials = 2 + (lists as f64).ln() as usize;
    let mut chosen = vec![0usize];
    let mut d2 = Vec::with_capacity(m);
    distances(0, &mut d2);
    let (mut trial, mut best) = (Vec::with_capacity(m), Vec::with_capacity(m));
    while chosen.len() < lists {
        let total: f64 = d2.iter().sum();
        if total <= 0.0 {
            // Every sample point coincides with a centroid: take the next unused point.
            chosen.push((0..m).find(|k| !chosen.contains(k)).unwrap_or(0));
            continue;
        }
        let (mut pick, mut best_total) = (0usize, f64::INFINITY);
        for _ in 0..trials {
            let mut target = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
            let mut candidate = d2.iter().rposition(|&d| d > 0.0).unwrap_or(0);
            for (k, &d) in d2.iter().enumerate() {
                if target < d {
                    candidate = k;
                    break;
                }
                target -= d;
            }
            distances(candidate, &mut trial);
            for (t, &d) in trial.iter_mut().zip(&d2) {
                *t = t.min(d);
            }
            let left: f64 = trial.iter().sum();
            if left < best_total {
                (pick, best_total) = (candidate, left);
                std::mem::swap(&mut trial, &mut best);
            }
        }
        chosen.push(pick);
        std::mem::swap(&mut d2, &mut best);
    }
    chosen.iter().flat_map(|&k| point(k).iter().copied()).collect()
}

/// Clusters the item factors (row-major `[num_items, dim]`) with k-means and returns one list
/// per centroid. Deterministic for fixed inputs and `params`.
pub fn build_index(
    item_factors: &[f32],
    item_bias: &[f32],
    dim: usize,
    params: &IndexParams,
) -> Result<IndexParts> {
    let n = item_bias.len();
    let bad = |m: String| Err(Error::InvalidArgument(m));
    if dim == 0 || item_factors.len() != n * dim {
        return bad(format!("item_factors has {} values, expected {n}·{dim}", item_factors.len()));
    }
    let IndexParams { lists, nprobe, iterations, seed, sample_per_list } = *params;
    if lists == 0 || lists > n {
        return bad(format!("an index needs 1..={n} lists, got {lists}"));
    }
    if nprobe == 0 || nprobe > lists {
        return bad(format!("nprobe must be in 1..={lists}, got {nprobe}"));
    }
    if u32::try_from(n).is_err() {
        return bad("more than 2^32 items".into());
    }
    if item_factors.iter().chain(item_bias).any(|v| !v.is_finite()) {
        return bad("item factors and biases must be finite".into());
    }
    let row = |i: usize| &item_factors[i * dim..(i + 1) * dim];

    // A deterministic sample: the first m positions of a seeded Fisher–Yates shuffle.
    let m = n.min(lists.saturating_mul(sample_per_list.max(1)));
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut rng = SplitMix(seed);
    for k in 0..m {
        let j = k + (rng.next() % (n - k) as u64) as usize;
        order.swap(k, j);
    }
    let sample = &order[..m];
    let points: Vec<f32> = sample.iter().flat_map(|&i| row(i as usize).iter().copied()).collect();
    let mut centroids = plus_plus(&points, dim, lists, &mut rng);
    drop(points);
    let mut assign = vec![0usize; m];
    let half_norms = |c: &[f32]| -> Vec<f32> { c.chunks_exact(dim).map(|r| 0.5 * dot(r, r)).collect() };
    // `split_empty`: an empty list takes half of the largest one (its centroid, nudged apart),
    // as faiss does, so no list is wasted while k-means trains.
    let update = |centroids: &mut [f32],
                  members: &mut dyn Iterator<Item = (usize, usize)>,
                  split_empty: bool| {
        let mut sums = vec![0f64; lists * dim];
        let mut counts = vec![0usize; lists];
        for (item, k) in members {
            counts[k] += 1;
            for (s, &x) in sums[k * dim..(k + 1) * dim].iter_mut().zip(row(item)) {
                *s += f64::from(x);
            }
        }
        for k in 0..lists {
            if counts[k] > 0 {
                for (c, s) in centroids[k * dim..(k + 1) * dim].iter_mut().zip(&sums[k * dim..(k + 1) * dim])
                {
                    *c = (*s / counts[k] as f64) as f32;
                }
            }
        }
        for k in 0..lists {
            if !split_empty || counts[k] > 0 {
                continue;
            }
            let Some((j, _)) = counts.iter().enumerate().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))
            else {
                break;
            };
            if counts[j] < 2 {
                break;
            }
            for x in 0..dim {
                let c = centroids[j * dim + x];
                let eps = if x % 2 == 0 { 1.0 / 1024.0 } else { -1.0 / 1024.0 };
                centroids[k * dim + x] = c * (1.0 + eps);
                centroids[j * dim + x] = c * (1.0 - eps);
            }
            counts[k] = counts[j] / 2;
            counts[j] -= counts[k];
        }
    };
    for _ in 0..iterations {
        let h = half_norms(&centroids);
        let mut changed = false;
        for (a, &i) in assign.iter_mut().zip(sample) {
            let k = nearest(row(i as usize), &centroids, &h, dim);
            changed |= *a != k;
            *a = k;
        }
        update(&mut centroids, &mut sample.iter().map(|&i| i as usize).zip(assign.iter().copied()), true);
        if !changed {
            break;
        }
    }

    // Every item to its nearest centroid; the centroids become the means of their full lists.
    let h = half_norms(&centroids);
    let full: Vec<usize> = (0..n).map(|i| nearest(row(i), &centroids, &h, dim)).collect();
    update(&mut centroids, &mut full.iter().copied().enumerate(), false);
    let mut out_lists = vec![Vec::new(); lists];
    let mut bias_sum = vec![0f64; lists];
    for (i, &k) in full.iter().enumerate() {
        out_lists[k].push(i as u32);
        bias_sum[k] += f64::from(item_bias[i]);
    }
    let centroid_bias = out_lists
        .iter()
        .zip(&bias_sum)
        .map(|(l, &s)| if l.is_empty() { 0.0 } else { (s / l.len() as f64) as f32 })
        .collect();
    Ok(IndexParts { centroids, centroid_bias, lists: out_lists, nprobe })
}

/// The items list by list, and by ID rank (`id_rank[item]`) within a list: the v3 item order,
/// as original item indices. Every item must be in exactly one list.
pub(crate) fn list_order(ix: &IndexParts, id_rank: &[u32]) -> Result<Vec<usize>> {
    let n = id_rank.len();
    let mut seen = vec![false; n];
    let mut order = Vec::with_capacity(n);
    for list in &ix.lists {
        let start = order.len();
        for &i in list {
            match seen.get_mut(i as usize) {
                Some(s) if !*s => *s = true,
                _ => {
                    return Err(Error::InvalidArgument(format!(
                        "index item {i} is out of range or in two lists"
                    )));
                }
            }
            order.push(i as usize);
        }
        order[start..].sort_unstable_by_key(|&i| id_rank[i]);
    }
    if order.len() != n {
        return Err(Error::InvalidArgument(format!("the index lists {} of {n} items", order.len())));
    }
    Ok(order)
}

/// The index's tensors in the artifact's item order: (centroids, centroid bias, list offsets,
/// list items, nprobe), after checking that every item is in exactly one list.
#[allow(clippy::type_complexity)]
pub(crate) fn index_tensors(
    ix: &IndexParts,
    dim: usize,
    item_rank: &[u32],
) -> Result<(Vec<f32>, Vec<f32>, Vec<u32>, Vec<u32>, usize)> {
    let (lists, ni) = (ix.lists.len(), item_rank.len());
    let bad = |m: String| Err(Error::InvalidArgument(m));
    if lists == 0 || lists > ni || ix.centroid_bias.len() != lists || ix.centroids.len() != lists * dim {
        return bad(format!(
            "index: {lists} lists (1..={ni}), {} biases and {} centroid values (expected {})",
            ix.centroid_bias.len(),
            ix.centroids.len(),
            lists * dim
        ));
    }
    if ix.nprobe == 0 || ix.nprobe > lists {
        return bad(format!("index nprobe must be in 1..={lists}, got {}", ix.nprobe));
    }
    if ix.centroids.iter().chain(&ix.centroid_bias).any(|v| !v.is_finite()) {
        return bad("index centroids must be finite".into());
    }
    let mut seen = vec![false; ni];
    let mut offsets = Vec::with_capacity(lists + 1);
    let mut items = Vec::with_capacity(ni);
    offsets.push(0u32);
    for list in &ix.lists {
        let start = items.len();
        for &i in list {
            match (item_rank.get(i as usize), seen.get_mut(i as usize)) {
                (Some(&r), Some(s)) if !*s => {
                    *s = true;
                    items.push(r);
                }
                _ => return bad(format!("index item {i} is out of range or in two lists")),
            }
        }
        items[start..].sort_unstable();
        offsets.push(items.len() as u32);
    }
    if items.len() != ni {
        return bad(format!("the index lists {} of {ni} items", items.len()));
    }
    Ok((ix.centroids.clone(), ix.centroid_bias.clone(), offsets, items, ix.nprobe))
}
