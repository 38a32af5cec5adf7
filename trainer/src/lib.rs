//! EdgeRec's trainer as a library. The layers, each depending only on those listed before it:
//!
//! - [`dataset`]: the `Dataset` type, its builder, validation rules and report;
//! - [`db`]: MySQL connections and the schema of the tables the trainer reads and writes;
//! - [`source`]: loading a dataset from a CSV/TSV file or MySQL;
//! - [`synthetic`]: the demo data generator and its CSV and MySQL writers;
//! - [`train`]: hyperparameters, splits, iALS and the SGD loop, evaluation, export;
//! - [`live`]: the live loop's client: Worker events into MySQL, models out to the Worker;
//! - `cli`: one file per subcommand: flags, progress and output (with the `cli` feature).
//!
//! The `trainer` binary is a thin clap front end over these modules. clap is behind the `cli`
//! feature (on by default): without it, the settings types below `cli` build without their
//! clap derives.

pub mod atomic;
#[cfg(feature = "cli")]
pub mod cli;
pub mod dataset;
pub mod db;
pub mod live;
pub mod source;
pub mod synthetic;
pub mod train;
