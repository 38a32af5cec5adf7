//! EdgeRec's trainer as a library: the data layer, training, evaluation and export.
//! The `trainer` binary is a thin clap front end over these modules.

pub mod cli;
pub mod data;
pub mod train;
