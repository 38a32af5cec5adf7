//! `trainer`: EdgeRec's command-line trainer.

use std::process::ExitCode;

use clap::Parser;
use edgerec_trainer::cli::Cli;

// glibc's allocator made candle several times slower on this workload.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // candle splits element-wise ops over 64K elements across a spinning thread pool. Our batch
    // tensors are small, and on a busy machine the spinning costs far more than it saves
    // (measured 20x slower on 2 shared cores), so training runs on one thread unless the user
    // asks for more with CANDLE_NUM_THREADS.
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        // SAFETY: nothing else runs yet, so no other thread can read the environment.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("CANDLE_NUM_THREADS", "1");
        }
    }
    match Cli::parse().run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let broken_pipe = err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
