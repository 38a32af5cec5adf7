//! Analysis of trained factors: k-means clustering and cluster purity (the PCA projection is
//! the core's [`edgerec_core::pca2`], which the item map also uses).

use edgerec_core::{IndexParams, build_index};

/// k-means on `rows × dim` data (the core's, which builds the IVF index: greedy k-means++
/// seeding, Lloyd steps on every row). Returns each row's cluster.
pub fn kmeans(data: &[f32], rows: usize, dim: usize, k: usize, seed: u64) -> Vec<usize> {
    if rows == 0 || k == 0 || dim == 0 || data.len() != rows * dim {
        return vec![0; rows];
    }
    let k = k.min(rows);
    let params =
        IndexParams { lists: k, nprobe: 1, iterations: 100, seed, sample_per_list: rows.div_ceil(k) };
    let Ok(index) = build_index(data, &vec![0.0; rows], dim, &params) else {
        // Non-finite factors: nothing meaningful to cluster.
        return vec![0; rows];
    };
    let mut assign = vec![0usize; rows];
    for (c, list) in index.lists.iter().enumerate() {
        for &i in list {
            assign[i as usize] = c;
        }
    }
    assign
}

/// Cluster purity: the share of rows whose cluster's majority label is their own label.
pub fn purity(clusters: &[usize], labels: &[usize]) -> f64 {
    use std::collections::HashMap;
    let mut table: HashMap<(usize, usize), usize> = HashMap::new();
    for (&c, &l) in clusters.iter().zip(labels) {
        *table.entry((c, l)).or_default() += 1;
    }
    let mut best: HashMap<usize, usize> = HashMap::new();
    for (&(c, _), &n) in &table {
        let e = best.entry(c).or_default();
        *e = (*e).max(n);
    }
    best.values().sum::<usize>() as f64 / clusters.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmeans_separates_obvious_clusters() {
        let mut data = Vec::new();
        let mut labels = Vec::new();
        for i in 0..60 {
            let g = i % 3;
            data.extend([g as f32 * 10.0 + (i as f32 * 0.37).sin(), (i as f32 * 0.11).cos()]);
            labels.push(g);
        }
        let clusters = kmeans(&data, 60, 2, 3, 1);
        assert!((purity(&clusters, &labels) - 1.0).abs() < 1e-9);
    }
}
