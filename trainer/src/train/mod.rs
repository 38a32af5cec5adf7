//! Matrix factorisation with candle: configuration, splits, sparse optimisers, the training
//! loop, evaluation through the core, export, and analysis.

pub mod als;
pub mod analyze;
pub mod config;
pub mod cv;
pub mod eval;
pub mod experiment;
pub mod export;
pub mod fit;
pub mod index;
pub mod pipeline;
pub mod plot;
pub mod sequence;
pub mod split;
mod step;
pub mod tables;
