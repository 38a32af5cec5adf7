//! The core's index search, one query at a time on command: EdgeRec's side of the scale
//! bench's comparison with faiss taking turns (`bench/scale/lockstep.py`).
//!
//! `cargo run --release -p edgerec-core --example bench_search -- MODEL QUERIES NPROBE`
//!
//! Loads MODEL, answers every one of the first QUERIES users once untimed (as `trainer
//! evaluate-index` does before it times), prints `ready`, then for each byte read on stdin
//! answers the next user's top 10 (seen items excluded, `Model::recommend_index`, what
//! `evaluate-index` times) and prints that call's time in milliseconds on a line of its own.

use std::io::{Read, Write};
use std::time::Instant;

use edgerec_core::{Model, RecommendOptions, Search};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, queries, nprobe] = args.as_slice() else {
        return Err("usage: bench_search MODEL QUERIES NPROBE".into());
    };
    let bytes = std::fs::read(model)?;
    let mut model = Model::from_bytes(&bytes)?;
    model.set_search(Search::Index { nprobe: nprobe.parse()? })?;
    let users = 0..queries.parse::<usize>()?.min(model.num_users());
    let opts = RecommendOptions::default();
    for u in users.clone() {
        std::hint::black_box(model.recommend_index(u, &opts)?);
    }
    let (mut stdin, mut stdout) = (std::io::stdin().lock(), std::io::stdout().lock());
    writeln!(stdout, "ready")?;
    for u in users {
        stdin.read_exact(&mut [0u8])?;
        let started = Instant::now();
        let recs = model.recommend_index(u, &opts)?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        std::hint::black_box(recs);
        writeln!(stdout, "{ms}")?;
    }
    Ok(())
}
