//! Analysis of trained factors: PCA projection, k-means clustering and cluster purity.
//! Small dense routines on `d × d` matrices, written out here rather than pulling a linear
//! algebra stack into the trainer for two eigenvectors.

use edgerec_core::{IndexParams, build_index};

/// Projects `rows × dim` row-major data onto its top two principal components
/// (power iteration with deflation on the covariance matrix). Returns `rows × 2`.
pub fn pca2(data: &[f32], rows: usize, dim: usize) -> Vec<f32> {
    if rows == 0 || dim == 0 {
        return Vec::new();
    }
    let mut mean = vec![0f64; dim];
    for row in data.chunks_exact(dim) {
        for (m, &x) in mean.iter_mut().zip(row) {
            *m += f64::from(x);
        }
    }
    mean.iter_mut().for_each(|m| *m /= rows as f64);
    let mut cov = vec![0f64; dim * dim];
    for row in data.chunks_exact(dim) {
        for a in 0..dim {
            let xa = f64::from(row[a]) - mean[a];
            for b in a..dim {
                cov[a * dim + b] += xa * (f64::from(row[b]) - mean[b]);
            }
        }
    }
    for a in 0..dim {
        for b in 0..a {
            cov[a * dim + b] = cov[b * dim + a];
        }
    }
    let mut components = Vec::with_capacity(2);
    for c in 0..2.min(dim) {
        let mut v: Vec<f64> = (0..dim).map(|k| 1.0 + (k as f64 * 0.618 + c as f64).sin()).collect();
        let mut lambda = 0.0;
        for _ in 0..200 {
            let mut w = vec![0f64; dim];
            for a in 0..dim {
                w[a] = (0..dim).map(|b| cov[a * dim + b] * v[b]).sum();
            }
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm < 1e-12 {
                break;
            }
            lambda = norm;
            v = w.into_iter().map(|x| x / norm).collect();
        }
        // Deflate so the next power iteration finds the next component.
        for a in 0..dim {
            for b in 0..dim {
                cov[a * dim + b] -= lambda * v[a] * v[b];
            }
        }
        components.push(v);
    }
    while components.len() < 2 {
        components.push(vec![0.0; dim]);
    }
    data.chunks_exact(dim)
        .flat_map(|row| {
            let centered: Vec<f64> = row.iter().zip(&mean).map(|(&x, m)| f64::from(x) - m).collect();
            components
                .iter()
                .map(move |c| c.iter().zip(&centered).map(|(a, b)| a * b).sum::<f64>() as f32)
                .collect::<Vec<_>>()
        })
        .collect()
}

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

    #[test]
    fn pca_finds_the_dominant_axis() {
        // Points along (1, 1, 0) with a little noise on the other axes.
        let data: Vec<f32> = (0..50)
            .flat_map(|i| {
                let t = i as f32 - 25.0;
                [t, t, (i as f32).sin() * 0.1]
            })
            .collect();
        let p = pca2(&data, 50, 3);
        let spread0: f32 = p.chunks(2).map(|c| c[0].abs()).sum();
        let spread1: f32 = p.chunks(2).map(|c| c[1].abs()).sum();
        assert!(spread0 > 50.0 * spread1);
    }
}
