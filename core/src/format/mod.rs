//! The artifact format, the lowest layer: tensor names and metadata keys, typed and validated
//! reads of safetensors tensors, string tables, serialisation and the artifact's version and
//! digest. It turns bytes into checked slices and back, and knows nothing of what they mean:
//! it imports only [`crate::error`] (and the crates that parse bytes), never a layer above.

pub mod names;
pub(crate) mod read;
pub(crate) mod strings;
mod version;
pub(crate) mod write;

pub use version::{artifact_sha256, artifact_version};

/// Value of [`names::META_USERS`] in an artifact whose users live outside it.
pub const USERS_EXTERNAL: &str = "external";
