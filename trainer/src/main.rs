//! `trainer`: EdgeRec's command-line trainer.

use std::process::ExitCode;

use clap::Parser;
use edgerec_trainer::cli::Cli;

// glibc's allocator made candle several times slower on this workload.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its `mimalloc.h`, v2; libmimalloc-sys names no constant
/// for it).
const MI_OPTION_PURGE_DELAY: i32 = 15;

/// mimalloc returns freed memory to the OS 10 ms after it is freed. candle allocates every
/// intermediate tensor afresh, so each training batch then faulted in new (huge) pages that the
/// kernel had to clear: a third of the sequence model's training time. Keeping freed memory for
/// reuse halved it; peak memory is unchanged, since the same sizes come back every batch. The
/// environment variable `MIMALLOC_PURGE_DELAY` is read before `main` runs, so it is set here.
fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: a plain option setter of the allocator, safe to call at any time.
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
        }
    }
}

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
    keep_freed_memory();
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
