//! Helpers the integration tests share: running the trainer's CLI, and the test database.

use std::process::{Command, Output};

/// The trainer binary cargo built for these tests.
pub const TRAINER: &str = env!("CARGO_BIN_EXE_trainer");

/// Runs the trainer with `args`. A developer's own `EDGEREC_ADMIN_TOKEN` is not passed on, so
/// no test depends on it.
pub fn trainer(args: &[&str]) -> Output {
    Command::new(TRAINER)
        .args(args)
        .env_remove("EDGEREC_ADMIN_TOKEN")
        .output()
        .expect("runs the trainer binary")
}

/// A run's standard error, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs the trainer, which must succeed; its standard output.
pub fn ok(args: &[&str]) -> String {
    let out = trainer(args);
    assert!(out.status.success(), "trainer {args:?} failed:\n{}", stderr(&out));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Runs the trainer, which must fail; its standard error.
pub fn fail(args: &[&str]) -> String {
    let out = trainer(args);
    assert!(!out.status.success(), "trainer {args:?} should fail");
    stderr(&out)
}

/// The MariaDB the suite started (`EDGEREC_TEST_DATABASE_URL`); a clear failure without one.
pub fn db_url(test: &str) -> String {
    match std::env::var("EDGEREC_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "{test}: EDGEREC_TEST_DATABASE_URL is unset, so there is no MariaDB to test against; \
             run scripts/test.sh, which starts one"
        ),
    }
}
