//! Parameter tables kept in host memory, with sparse optimisers that update only the rows a
//! batch touched. Candle computes each batch's gradients; these tables own the weights.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::config::Optimizer;

const ADAGRAD_INIT: f32 = 1e-6;
const ADAM_BETA1: f32 = 0.9;
const ADAM_BETA2: f32 = 0.999;
const EPS: f32 = 1e-8;
/// How many samples ahead [`Table::scatter`] touches the rows it will update.
const TOUCH_AHEAD: usize = 12;

#[derive(Debug, Clone)]
enum State {
    Sgd,
    Adagrad { acc: Vec<f32> },
    RowwiseAdagrad { acc: Vec<f32> },
    Adam { m: Vec<f32>, v: Vec<f32>, steps: Vec<u32> },
}

/// A `rows × dim` table of weights plus its optimiser state.
#[derive(Debug, Clone)]
pub struct Table {
    /// Number of rows.
    pub rows: usize,
    /// Row width.
    pub dim: usize,
    /// Row-major weights.
    pub data: Vec<f32>,
    state: State,
}

impl Table {
    /// A table initialised from N(0, std²) (or zeros when `std` is 0).
    pub fn new(rows: usize, dim: usize, std: f64, optimizer: Optimizer, rng: &mut ChaCha8Rng) -> Self {
        let data = match Normal::new(0.0f32, std as f32) {
            Ok(normal) if std > 0.0 => (0..rows * dim).map(|_| normal.sample(rng)).collect(),
            _ => vec![0.0; rows * dim],
        };
        let state = match optimizer {
            Optimizer::Sgd => State::Sgd,
            Optimizer::Adagrad => State::Adagrad { acc: vec![ADAGRAD_INIT; rows * dim] },
            Optimizer::RowwiseAdagrad => State::RowwiseAdagrad { acc: vec![ADAGRAD_INIT; rows] },
            Optimizer::Adam => {
                State::Adam { m: vec![0.0; rows * dim], v: vec![0.0; rows * dim], steps: vec![0; rows] }
            }
        };
        Self { rows, dim, data, state }
    }

    /// Copies the rows `index` into `out` (`index.len() × dim`).
    pub fn gather(&self, index: &[u32], out: &mut Vec<f32>) {
        out.clear();
        out.reserve(index.len() * self.dim);
        for &r in index {
            let r = r as usize;
            out.extend_from_slice(&self.data[r * self.dim..(r + 1) * self.dim]);
        }
    }

    /// Applies one gradient row to row `row`, plus the gradient `2·reg·w` of the L2 penalty
    /// `reg·|w|²`. Only this row's weights and state change.
    pub fn apply(&mut self, row: usize, grad: &[f32], lr: f32, reg: f32) {
        let span = row * self.dim..(row + 1) * self.dim;
        let w = &mut self.data[span.clone()];
        let decay = 2.0 * reg;
        match &mut self.state {
            State::Sgd => {
                for (w, g) in w.iter_mut().zip(grad) {
                    *w -= lr * (g + decay * *w);
                }
            }
            State::Adagrad { acc } => {
                for ((w, a), g) in w.iter_mut().zip(&mut acc[span]).zip(grad) {
                    let g = g + decay * *w;
                    *a += g * g;
                    *w -= lr * g / (a.sqrt() + EPS);
                }
            }
            State::RowwiseAdagrad { acc } => {
                acc[row] += penalised_sq_norm(grad, w, decay) / self.dim as f32;
                let step = lr / (acc[row].sqrt() + EPS);
                for (w, g) in w.iter_mut().zip(grad) {
                    *w -= step * (g + decay * *w);
                }
            }
            State::Adam { m, v, steps } => {
                steps[row] += 1;
                let t = steps[row] as i32;
                let (c1, c2) = (1.0 - ADAM_BETA1.powi(t), 1.0 - ADAM_BETA2.powi(t));
                for (((w, m), v), g) in w.iter_mut().zip(&mut m[span.clone()]).zip(&mut v[span]).zip(grad) {
                    let g = g + decay * *w;
                    *m = ADAM_BETA1 * *m + (1.0 - ADAM_BETA1) * g;
                    *v = ADAM_BETA2 * *v + (1.0 - ADAM_BETA2) * g * g;
                    *w -= lr * (*m / c1) / ((*v / c2).sqrt() + EPS);
                }
            }
        }
    }

    /// Applies per-sample gradient rows: sample `s` updates row `index[s]`.
    pub fn scatter(&mut self, index: &[u32], grads: &[f32], lr: f32, reg: f32) {
        for (s, &r) in index.iter().enumerate() {
            if let Some(&ahead) = index.get(s + TOUCH_AHEAD) {
                self.touch(ahead as usize);
            }
            self.apply(r as usize, &grads[s * self.dim..(s + 1) * self.dim], lr, reg);
        }
    }

    /// Reads one value in each cache line of row `row` and of its optimiser state, so that
    /// their misses overlap with the updates before it (a prefetch without `unsafe`: the
    /// loads cannot be optimised away, and nothing waits for them).
    fn touch(&self, row: usize) {
        const LINE: usize = 16;
        let span = row * self.dim..(row + 1) * self.dim;
        for k in span.clone().step_by(LINE) {
            std::hint::black_box(self.data[k]);
        }
        match &self.state {
            State::Sgd => {}
            State::RowwiseAdagrad { acc } => {
                std::hint::black_box(acc[row]);
            }
            State::Adagrad { acc } => {
                for k in span.step_by(LINE) {
                    std::hint::black_box(acc[k]);
                }
            }
            State::Adam { m, v, .. } => {
                for k in span.step_by(LINE) {
                    std::hint::black_box((m[k], v[k]));
                }
            }
        }
    }
}

/// `|grad + decay·w|²`, with eight independent accumulators so that the compiler vectorises it
/// (a plain `sum()` is a serial chain of additions).
fn penalised_sq_norm(grad: &[f32], w: &[f32], decay: f32) -> f32 {
    let (g8, g_rest) = grad.as_chunks::<8>();
    let (w8, w_rest) = w.as_chunks::<8>();
    let mut lanes = [0.0f32; 8];
    for (g, w) in g8.iter().zip(w8) {
        for k in 0..8 {
            let x = g[k] + decay * w[k];
            lanes[k] += x * x;
        }
    }
    let tail: f32 = g_rest.iter().zip(w_rest).map(|(g, w)| (g + decay * w) * (g + decay * w)).sum();
    lanes.iter().sum::<f32>() + tail
}

/// All weights of a biased matrix-factorisation model.
#[derive(Debug, Clone)]
pub struct Factors {
    /// User factors, `users × dim`.
    pub user: Table,
    /// Item factors, `items × dim`.
    pub item: Table,
    /// User biases, `users × 1`.
    pub user_bias: Table,
    /// Item biases, `items × 1`.
    pub item_bias: Table,
    /// The global bias (mean training rating; fixed).
    pub global: f32,
}

impl Factors {
    /// All-zero weights of dimension 1 and a zero global bias: the starting point of the
    /// baselines, which only fill in biases.
    pub fn zeros(users: usize, items: usize) -> Self {
        Self::new(users, items, 1, 0.0, Optimizer::Sgd, 0)
    }

    /// Fresh weights for `users × items` at dimension `dim`.
    pub fn new(users: usize, items: usize, dim: usize, std: f64, optimizer: Optimizer, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Self {
            user: Table::new(users, dim, std, optimizer, &mut rng),
            item: Table::new(items, dim, std, optimizer, &mut rng),
            user_bias: Table::new(users, 1, 0.0, optimizer, &mut rng),
            item_bias: Table::new(items, 1, 0.0, optimizer, &mut rng),
            global: 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_touched_rows_change() {
        for opt in [Optimizer::Sgd, Optimizer::Adagrad, Optimizer::RowwiseAdagrad, Optimizer::Adam] {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let mut t = Table::new(5, 3, 0.1, opt, &mut rng);
            let before = t.data.clone();
            t.scatter(&[2, 2, 4], &[1.0; 9], 0.1, 0.01);
            for r in [0, 1, 3] {
                assert_eq!(&t.data[r * 3..r * 3 + 3], &before[r * 3..r * 3 + 3], "{opt:?} row {r}");
            }
            for r in [2, 4] {
                assert!(t.data[r * 3] < before[r * 3], "{opt:?} row {r} moved against the gradient");
            }
        }
    }
}
