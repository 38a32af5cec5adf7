//! The 2-D item map: a PCA projection of the item factors. The trainer stores one in the
//! artifact (`item_projection`) for catalogues small enough that 8 bytes per item do not matter;
//! without it, [`Model::item_map`] computes the same kind of projection from the factors, so a
//! page can still draw the map. Small dense routines on `d × d` matrices, written out here rather
//! than pulling a linear algebra stack in for two eigenvectors.

use std::borrow::Cow;

use crate::model::Model;

/// How many item rows [`Model::item_map`] fits its components on when it computes them: an even
/// sample (every `k`-th item) keeps the fit at `O(sample · d²)` however large the catalogue,
/// and two components of a d = 64 covariance are stable long before 20,000 rows.
pub const ITEM_MAP_SAMPLE: usize = 20_000;

/// Power-iteration steps per component.
const POWER_STEPS: usize = 200;

/// The top two principal components of some rows, and their mean.
struct Pca2 {
    mean: Vec<f64>,
    components: [Vec<f64>; 2],
}

impl Pca2 {
    /// Fits the components on `rows` (each `dim` values) by power iteration with deflation on
    /// the covariance matrix. Deterministic: a fixed start vector and a fixed number of steps.
    fn fit<'r>(rows: impl Iterator<Item = &'r [f32]> + Clone, dim: usize) -> Self {
        let mut mean = vec![0f64; dim];
        let mut n = 0usize;
        for row in rows.clone() {
            for (m, &x) in mean.iter_mut().zip(row) {
                *m += f64::from(x);
            }
            n += 1;
        }
        mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
        let mut cov = vec![0f64; dim * dim];
        for row in rows {
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
        let mut components = [vec![0.0; dim], vec![0.0; dim]];
        for (c, slot) in components.iter_mut().enumerate().take(dim) {
            let mut v: Vec<f64> = (0..dim).map(|k| 1.0 + (k as f64 * 0.618 + c as f64).sin()).collect();
            let mut lambda = 0.0;
            for _ in 0..POWER_STEPS {
                let mut w = vec![0f64; dim];
                for (a, wa) in w.iter_mut().enumerate() {
                    *wa = (0..dim).map(|b| cov[a * dim + b] * v[b]).sum();
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
            *slot = v;
        }
        Self { mean, components }
    }

    /// The row's coordinates on the two components.
    fn project(&self, row: &[f32]) -> [f32; 2] {
        let centered = || row.iter().zip(&self.mean).map(|(&x, m)| f64::from(x) - m);
        let on = |c: &[f64]| c.iter().zip(centered()).map(|(a, b)| a * b).sum::<f64>() as f32;
        [on(&self.components[0]), on(&self.components[1])]
    }
}

/// Projects `rows × dim` row-major data onto its top two principal components, fitted on all
/// of it. Returns `rows × 2` values, row-major (the trainer's `item_projection`).
pub fn pca2(data: &[f32], rows: usize, dim: usize) -> Vec<f32> {
    if rows == 0 || dim == 0 || data.len() < rows * dim {
        return Vec::new();
    }
    let data = &data[..rows * dim];
    let pca = Pca2::fit(data.chunks_exact(dim), dim);
    data.chunks_exact(dim).flat_map(|row| pca.project(row)).collect()
}

impl Model<'_> {
    /// Every item's position on a 2-D map, row-major `[num_items, 2]`: the artifact's
    /// `item_projection` when it has one; otherwise a PCA of the (dequantised) item factors,
    /// fitted on an even sample of at most [`ITEM_MAP_SAMPLE`] items and applied to all, so
    /// every item has a place and the same artifact always gives the same map. Computing it
    /// dequantises one row at a time, never the whole matrix.
    pub fn item_map(&self) -> Cow<'_, [f32]> {
        if let Some(p) = &self.projection {
            return Cow::Borrowed(p);
        }
        let (n, dim) = (self.num_items(), self.dim);
        let step = n.div_ceil(ITEM_MAP_SAMPLE).max(1);
        let mut sample = Vec::with_capacity(n.div_ceil(step) * dim);
        let mut buf = Vec::new();
        for item in (0..n).step_by(step) {
            if let Some(row) = self.item_factors.row(item, dim, &mut buf) {
                sample.extend_from_slice(row);
            }
        }
        let pca = Pca2::fit(sample.chunks_exact(dim), dim);
        let mut out = Vec::with_capacity(2 * n);
        for item in 0..n {
            match self.item_factors.row(item, dim, &mut buf) {
                Some(row) => out.extend(pca.project(row)),
                None => out.extend([0.0, 0.0]),
            }
        }
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn one_dimension_gives_a_zero_second_axis() {
        let p = pca2(&[1.0, 2.0, 3.0], 3, 1);
        assert_eq!(p.len(), 6);
        assert!(p.chunks(2).all(|c| c[1] == 0.0));
    }
}
