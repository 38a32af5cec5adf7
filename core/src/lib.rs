#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

#[cfg(target_endian = "big")]
compile_error!("edgerec-core reads little-endian safetensors data and supports little-endian targets only");

mod builder;
mod error;
mod explain;
mod external_users;
mod factors;
mod fold_in;
mod ids;
mod ivf;
mod ivf_build;
pub mod kernel;
mod load;
mod model;
pub mod names;
mod owned;
mod picks;
mod projection;
mod query;
mod rating_head;
mod read;
mod recency;
mod sequence;
mod session;
mod similar;
mod unavailable;
mod user_record;
mod version;
pub mod wire;
mod write;

pub use builder::{ModelBuilder, RatingHeadParts, RecencyParts, SequenceBlock, SequenceParts};
pub use error::{Error, Result};
pub use explain::{Because, MAX_BECAUSE};
pub use external_users::{USERS_EXTERNAL, UserRecords, split_users};
pub use factors::Quantization;
pub use fold_in::FoldIn;
pub use ivf::{IndexInfo, PAGE_DEPTH, Search};
pub use ivf_build::{AUTO_INDEX_MIN_ITEMS, IndexParams, IndexParts, build_index};
pub use model::{FORMAT_VERSION, Model, ModelInfo, ModelKind, OLDEST_FORMAT_VERSION};
pub use owned::OwnedModel;
pub use projection::{ITEM_MAP_SAMPLE, pca2};
pub use query::{MAX_TOP_N, RecommendOptions, Recommendations, ScoredItem, Source};
pub use recency::{MAX_RECENCY_WINDOW, RecencyInfo};
pub use sequence::{MAX_SEQUENCE_BLOCKS, MAX_SEQUENCE_LEN, SequenceInfo};
pub use unavailable::Unavailable;
pub use user_record::{USER_RECORD_MAGIC, USER_RECORD_VERSION, UserRecord, user_record_key};
pub use version::{artifact_sha256, artifact_version};
