//! One iALS fit, timed alone: the figure to set beside `implicit`'s `fit()` on the same
//! matrix. It loads the data as `trainer train` does, builds the same `(user, item, weight)`
//! triples with the same settings (every `trainer train` flag applies), and times
//! `train::als::fit` on rayon's pool (`RAYON_NUM_THREADS` sets its size).
//!
//! `cargo run --release -p edgerec-trainer --example als_fit -- --data FILE [--als-iterations 15]
//! [--triples OUT]`: `--triples` also writes the matrix implicit is given, as little-endian
//! `(u32 user, u32 item, f32 confidence)` records, the confidence being `1 + α·w`.

use std::io::Write as _;
use std::time::Instant;

use clap::Parser;
use edgerec_trainer::cli::{DataArgs, TrainArgs};
use edgerec_trainer::train::als;
use edgerec_trainer::train::fit::Verbosity;
use edgerec_trainer::train::pipeline::{als_params, als_triples};

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    train: TrainArgs,
    /// Also write the confidence matrix here (see the module docs).
    #[arg(long)]
    triples: Option<std::path::PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let data = args.data.load_quiet()?;
    let cfg = args.train.params()?.resolve(&data.interactions);
    let triples = als_triples(&cfg, &data.interactions);
    let p = als_params(&cfg);
    if let Some(path) = &args.triples {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        for &(u, i, w) in &triples {
            out.write_all(&u.to_le_bytes())?;
            out.write_all(&i.to_le_bytes())?;
            out.write_all(&(1.0 + p.alpha as f32 * w).to_le_bytes())?;
        }
        out.flush()?;
    }
    let start = Instant::now();
    let f = als::fit(&p, data.num_users(), data.num_items(), &triples, Verbosity::Quiet)?;
    let seconds = start.elapsed().as_secs_f64();
    let norm: f64 = f.item.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    println!(
        "{}",
        serde_json::json!({
            "seconds": seconds,
            "threads": rayon::current_num_threads(),
            "users": data.num_users(),
            "items": data.num_items(),
            "nonzeros": triples.len(),
            "params": p,
            "item_norm": norm.sqrt(),
        })
    );
    Ok(())
}
