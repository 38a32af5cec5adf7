//! The physical limit for training speed: a minimal plain-Rust per-sample SGD loop for biased
//! matrix factorisation, with no framework, no batching and no allocation in the loop. The
//! benchmark reports EdgeRec's seconds per epoch against this loop's.
//!
//! `cargo run --release -p edgerec-trainer --example sgd_limit -- --data FILE [--dim 64] [--epochs 3]`

use std::time::Instant;

use clap::Parser;
use edgerec_trainer::cli::DataArgs;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    data: DataArgs,
    #[arg(long, default_value_t = 64)]
    dim: usize,
    #[arg(long, default_value_t = 3)]
    epochs: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let data = args.data.load_quiet()?;
    let (nu, ni, d) = (data.num_users(), data.num_items(), args.dim);
    // A fixed pseudo-random init; the quality of this loop is not the point, its speed is.
    let init = |k: usize| ((k as f32 * 0.618_034).fract() - 0.5) * 0.2;
    let mut p: Vec<f32> = (0..nu * d).map(init).collect();
    let mut q: Vec<f32> = (0..ni * d).map(|k| init(k + 7)).collect();
    let (mut bu, mut bi) = (vec![0f32; nu], vec![0f32; ni]);
    let mu = data.interactions.iter().map(|x| x.rating).sum::<f32>() / data.interactions.len() as f32;
    let (lr, reg) = (0.01f32, 0.05f32);
    let mut seconds = Vec::new();
    for _ in 0..args.epochs {
        let started = Instant::now();
        let mut sse = 0.0f64;
        for x in &data.interactions {
            let (u, i) = (x.user as usize, x.item as usize);
            let (pu, qi) = (&mut p[u * d..(u + 1) * d], &mut q[i * d..(i + 1) * d]);
            let dot: f32 = pu.iter().zip(qi.iter()).map(|(a, b)| a * b).sum();
            let err = x.rating - (mu + bu[u] + bi[i] + dot);
            sse += f64::from(err * err);
            bu[u] += lr * (err - reg * bu[u]);
            bi[i] += lr * (err - reg * bi[i]);
            for (a, b) in pu.iter_mut().zip(qi.iter_mut()) {
                let (pa, qb) = (*a, *b);
                *a += lr * (err * qb - reg * pa);
                *b += lr * (err * pa - reg * qb);
            }
        }
        seconds.push(started.elapsed().as_secs_f64());
        std::hint::black_box(sse);
    }
    let per_epoch = seconds.iter().sum::<f64>() / seconds.len() as f64;
    println!(
        "{}",
        serde_json::json!({"rows": data.interactions.len(), "dim": d, "epochs": args.epochs, "seconds_per_epoch": per_epoch})
    );
    Ok(())
}
