//! A model that owns its artifact bytes, for hosts that receive the file at run time.
#![allow(unsafe_code)] // self_cell's macro expands to audited unsafe code.

use crate::{Model, Result};

self_cell::self_cell!(
    /// A [`Model`] together with the bytes it borrows from.
    pub struct OwnedModel {
        owner: Vec<u8>,
        #[covariant]
        dependent: Model,
    }

    impl {Debug}
);

impl OwnedModel {
    /// Loads and validates an artifact, keeping the bytes alive alongside the model.
    pub fn from_vec(bytes: Vec<u8>) -> Result<Self> {
        Self::try_new(bytes, |b| Model::from_bytes(b))
    }

    /// The loaded model.
    pub fn model(&self) -> &Model<'_> {
        self.borrow_dependent()
    }

    /// The artifact's bytes.
    pub fn bytes(&self) -> &[u8] {
        self.borrow_owner()
    }
}
