//! The one error type of `edgerec-core`.

/// Everything that can go wrong while loading a model or answering a query.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a readable safetensors file (truncated, bad header, bad offsets).
    #[error("not a valid safetensors file: {0}")]
    Format(String),
    /// A required tensor is absent.
    #[error("model artifact is missing tensor `{0}`")]
    MissingTensor(&'static str),
    /// A tensor has the wrong element type.
    #[error("tensor `{name}` has dtype {got}, expected {expected}")]
    Dtype {
        /// Tensor name.
        name: &'static str,
        /// Expected dtype.
        expected: &'static str,
        /// Dtype found in the file.
        got: String,
    },
    /// A tensor has a shape that disagrees with the rest of the model.
    #[error("tensor `{name}` has shape {got:?}, expected {expected:?}")]
    Shape {
        /// Tensor name.
        name: &'static str,
        /// Expected shape.
        expected: Vec<usize>,
        /// Shape found in the file.
        got: Vec<usize>,
    },
    /// A metadata key is missing or malformed.
    #[error("model metadata: {0}")]
    Metadata(String),
    /// The artifact was written by a format version this build does not read.
    #[error("unsupported model format version `{found}` (this build reads versions 1 to {supported})")]
    UnsupportedVersion {
        /// Version string found in the file.
        found: String,
        /// The version this build reads.
        supported: u32,
    },
    /// The artifact is structurally readable but its contents are inconsistent.
    #[error("invalid model artifact: {0}")]
    Invalid(String),
    /// A user ID the model does not know.
    #[error("unknown user `{id}`")]
    UnknownUser {
        /// The ID that was asked for.
        id: String,
    },
    /// An item ID the model does not know.
    #[error("unknown item `{id}`")]
    UnknownItem {
        /// The ID that was asked for.
        id: String,
    },
    /// A category name the model does not know.
    #[error("unknown category `{name}`")]
    UnknownCategory {
        /// The name that was asked for.
        name: String,
    },
    /// A user record (a user kept outside the artifact) is malformed or does not fit the model.
    #[error("invalid user record: {0}")]
    UserRecord(String),
    /// A query argument is out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A later page (`offset` > 0) of a list that ends before it: after what the request
    /// leaves out, nothing is left at or after `offset`. A partly filled last page is no error.
    #[error("offset {offset} is past the end: this query has {len} items to recommend")]
    OffsetPastEnd {
        /// The request's offset.
        offset: usize,
        /// How many items the query could recommend in all (at most `offset`).
        len: usize,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
