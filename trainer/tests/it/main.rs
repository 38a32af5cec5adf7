//! The trainer's integration tests, in one binary: one link of the trainer's dependencies
//! instead of one per file, and one place for their shared helpers ([`common`]).
//!
//! The MariaDB tests (`data_mysql`, `ingest_mysql`, `erase_mysql`) are ignored unless run with
//! `--include-ignored` and `EDGEREC_TEST_DATABASE_URL` set; `scripts/test.sh` does both.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

mod als_threads;
mod cli;
mod data_mysql;
mod erase_mysql;
mod index;
mod ingest_mysql;
mod live_cli;
mod quality;
mod sequence;
mod snapshots;
mod users;
