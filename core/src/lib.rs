#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

#[cfg(target_endian = "big")]
compile_error!("edgerec-core reads little-endian safetensors data and supports little-endian targets only");

mod builder;
mod error;
mod ids;
pub mod kernel;
mod model;
pub mod names;
mod owned;
mod query;

pub use builder::ModelBuilder;
pub use error::{Error, Result};
pub use model::{FORMAT_VERSION, Model, ModelInfo, ModelKind};
pub use owned::OwnedModel;
pub use query::{FoldIn, MAX_TOP_N, RecommendOptions, Recommendations, ScoredItem, Source};
