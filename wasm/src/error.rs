//! The bindings' error type: what went wrong, in words a JavaScript caller can show.

/// A failed call. JavaScript receives it as an `Error` whose message is this type's `Display`
/// (through wasm-bindgen's `JsError`, which converts any `std::error::Error`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The artifact bytes could not be loaded as a model.
    #[error("could not load the model: {0}")]
    Load(#[source] edgerec_core::Error),
    /// A JavaScript argument did not have the documented shape.
    #[error("{method}(): invalid request: {message}")]
    Request {
        /// The JavaScript method that was called.
        method: &'static str,
        /// What was wrong with the argument.
        message: String,
    },
    /// The core rejected the query.
    #[error("{method}(): {source}")]
    Query {
        /// The JavaScript method that was called.
        method: &'static str,
        /// The core's error.
        #[source]
        source: edgerec_core::Error,
    },
    /// A result could not be turned into a JavaScript value.
    #[error("{method}(): could not build the result: {message}")]
    Output {
        /// The JavaScript method that was called.
        method: &'static str,
        /// The serializer's message.
        message: String,
    },
}

/// `Result` with the bindings' [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps a core query error with the name of the method that failed.
    pub(crate) fn query(method: &'static str) -> impl FnOnce(edgerec_core::Error) -> Self {
        move |source| Self::Query { method, source }
    }
}
