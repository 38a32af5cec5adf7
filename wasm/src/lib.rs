//! EdgeRec in the browser: [`wasm-bindgen`](https://docs.rs/wasm-bindgen) bindings over
//! `edgerec-core`.
//!
//! JavaScript builds a [`Recommender`] from the bytes of a model artifact and asks it for
//! recommendations, fold-in recommendations for an anonymous visitor, similar items, ID pages,
//! the item map and model facts. Every answer is a plain JavaScript object with camelCase keys
//! (see the TypeScript typings in `wasm/pkg-types/`), and every failure is a JavaScript `Error`
//! with a readable message, never a wasm trap.
//!
//! The crate only translates: JS values become core types ([`dto`]), core answers become JS
//! values, and core errors become [`Error`]s. All scoring lives in `edgerec-core`.
//!
//! The same translation is callable natively through the `*_request` methods of
//! [`Recommender`], which is how the parity test computes the native answers it compares the
//! wasm answers with.
#![deny(missing_docs)]

mod answer;
pub mod dto;
mod error;
mod recommender;
mod typings;

pub use error::{Error, Result};
pub use recommender::Recommender;
