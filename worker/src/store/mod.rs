//! The models this isolate serves: the current one and an optional canary, swapped between
//! requests when the R2 pointer moves.
//!
//! Sources, by precedence: the pointer object (`MODEL_POINTER_KEY`, see [`pointer`]) in the R2
//! binding `MODEL_R2_BINDING`; else the object `MODEL_R2_KEY` if it exists; else the bundled
//! model. [`state`] keeps what is loaded in a `thread_local` (wasm is single-threaded): each
//! request takes an `Rc` of the models it will use, so a swap replaces the state between
//! requests and a request in flight finishes on the model it started with; the old model is
//! freed when the last such request ends.
//!
//! One loading future is never shared between requests, because workerd cancels requests that
//! wait on another request's I/O: the request that notices the pointer is stale does the refresh
//! itself, while the others keep serving the loaded models.

mod load;
pub mod pointer;
mod state;

use std::rc::Rc;

use edgerec_core::{Model, OwnedModel};
use worker::Env;

use crate::config::Config;

pub use load::read_object;
pub use state::{Report, current_version, get, mark_stale, report};

/// Where a loaded model came from, for `/health` and the `X-Model-Version` header.
#[derive(Debug)]
pub struct Provenance {
    /// `bundled`, `r2` (`MODEL_R2_KEY`) or `pointer` (an entry of the pointer).
    pub source: &'static str,
    /// The bundled path or the R2 `binding/key`.
    pub location: String,
    /// Size of the artifact.
    pub bytes: usize,
    /// The first 16 hex digits of the artifact's SHA-256: identifies the exact model served.
    pub version: String,
    /// When this isolate loaded it (RFC 3339).
    pub loaded_at: String,
}

/// The parsed artifact: borrowed from the bundle, or owning bytes read from R2.
pub enum Artifact {
    Bundled(Box<Model<'static>>),
    Owned(OwnedModel),
}

/// One loaded model.
pub struct Served {
    pub artifact: Artifact,
    pub provenance: Provenance,
    /// What it was loaded from (source, key, version or etag): equal ids are the same model.
    id: String,
}

impl Served {
    pub fn new(artifact: Artifact, provenance: Provenance, id: String) -> Self {
        Self { artifact, provenance, id }
    }

    pub fn ready(&self) -> Ready<'_> {
        let model = match &self.artifact {
            Artifact::Bundled(model) => model,
            Artifact::Owned(owned) => owned.model(),
        };
        Ready { model, provenance: &self.provenance }
    }
}

/// A model ready to answer queries, borrowed for one request.
#[derive(Clone, Copy)]
pub struct Ready<'a> {
    pub model: &'a Model<'a>,
    pub provenance: &'a Provenance,
}

/// The models a request may use.
#[derive(Clone)]
pub struct Serving {
    pub current: Rc<Served>,
    /// The canary and the percentage of users routed to it.
    pub canary: Option<(Rc<Served>, u8)>,
}

impl Serving {
    /// The model for a request: the canary when the user's hash bucket is below its percent,
    /// else the current model (also for requests without a user).
    pub fn pick(&self, user_id: Option<&str>) -> &Served {
        match (&self.canary, user_id) {
            (Some((canary, percent)), Some(user)) if canary_bucket(user) < u64::from(*percent) => canary,
            _ => &self.current,
        }
    }
}

/// What the Worker can serve right now.
pub enum Status {
    Ready(Serving),
    /// No usable model; the reason is reported by `/health`, and the API routes answer 503.
    Unavailable(String),
}

/// The API routes' view: the models, or a 503 error.
pub fn require(status: &Status) -> Result<&Serving, crate::error::ApiError> {
    match status {
        Status::Ready(serving) => Ok(serving),
        Status::Unavailable(reason) => {
            Err(crate::error::ApiError::unavailable(format!("no model is loaded: {reason}")))
        }
    }
}

/// A user's canary bucket, `0..100`: FNV-1a 64 of the ID's bytes, modulo 100. Stable across
/// isolates and deployments, so a user stays on the same side of a canary.
pub fn canary_bucket(user_id: &str) -> u64 {
    let hash = user_id
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    hash % 100
}

/// The R2 bucket models come from, when one is configured.
pub fn bucket(env: &Env, config: &Config) -> Option<Result<worker::Bucket, String>> {
    (!config.r2_binding.is_empty()).then(|| {
        env.bucket(&config.r2_binding).map_err(|e| format!("no R2 binding `{}`: {e}", config.r2_binding))
    })
}

/// Linear memory of this wasm instance in bytes (the models, the heap and the stack).
pub fn wasm_memory_bytes() -> Option<usize> {
    #[cfg(target_arch = "wasm32")]
    {
        Some(core::arch::wasm32::memory_size(0) * 65536)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::canary_bucket;

    #[test]
    fn canary_buckets_are_fnv1a64_mod_100() {
        // FNV-1a 64 of "" is the offset basis 0xcbf29ce484222325 = 14695981039346656037.
        assert_eq!(canary_bucket(""), 14_695_981_039_346_656_037 % 100);
        // FNV-1a 64 of "a" = 0xaf63dc4c8601ec8c.
        assert_eq!(canary_bucket("a"), 0xaf63_dc4c_8601_ec8c_u64 % 100);
    }
}
