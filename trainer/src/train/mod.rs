//! Matrix factorisation with candle: configuration, splits, sparse optimisers, the training
//! loop, evaluation through the core, export, and analysis.

pub mod als;
pub mod analyze;
pub mod config;
pub mod eval;
pub mod evaluate;
pub mod evaluate_index;
pub mod export;
pub mod fit;
pub mod index;
pub mod params;
pub mod pipeline;
pub mod plot;
pub mod run;
pub mod split;
