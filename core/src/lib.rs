#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

#[cfg(target_endian = "big")]
compile_error!("edgerec-core reads little-endian safetensors data and supports little-endian targets only");

// The layers, lowest first: `kernel` (arithmetic) and `format` (bytes and tensors), `index`
// (the lists to probe), `model` (the loaded model and its parts), `query` (the answers), and
// on top `users` (records kept outside the artifact) and `builder` (writing artifacts). Each
// imports only from the layers below it (see each folder's module docs); `wire` (the shapes
// the Worker and the trainer exchange) stands apart, and `testing` is for tests.
mod builder;
mod error;
mod format;
mod index;
pub mod kernel;
mod model;
mod query;
mod users;
pub mod wire;

#[cfg(feature = "testing")]
pub mod testing;

pub use builder::{ModelBuilder, RatingHeadParts, RecencyParts, SequenceBlock, SequenceParts};
pub use error::{Error, Result};
pub use format::names;
pub use format::{USERS_EXTERNAL, artifact_sha256, artifact_version};
pub use index::{AUTO_INDEX_MIN_ITEMS, IndexInfo, IndexParams, IndexParts, Search, build_index};
pub use model::{
    FORMAT_VERSION, ITEM_MAP_SAMPLE, MAX_RECENCY_WINDOW, MAX_SEQUENCE_BLOCKS, MAX_SEQUENCE_LEN, Model,
    ModelInfo, ModelKind, OLDEST_FORMAT_VERSION, OwnedModel, Quantization, RecencyInfo, SequenceInfo, pca2,
};
pub use query::{
    Because, FoldIn, MAX_BECAUSE, MAX_TOP_N, PAGE_DEPTH, RecommendOptions, Recommendations, ScoredItem,
    Source, Unavailable,
};
pub use users::{
    USER_RECORD_MAGIC, USER_RECORD_VERSION, UserRecord, UserRecords, split_users, user_record_key,
};
