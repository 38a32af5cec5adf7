//! The model: bundled into the Worker at build time, or loaded from an R2 bucket, and parsed
//! once per isolate.
//!
//! Parsing happens on the first request an isolate serves; later requests reuse the result
//! from a `static OnceLock`. A burst of first requests against R2 may load it a few times over
//! (harmless); one loading future is never shared between requests, because workerd cancels
//! requests that wait on another request's I/O.

use std::sync::OnceLock;

use edgerec_core::{Model, OwnedModel};
use worker::Env;

use crate::config::Config;

/// 8-byte alignment for the bundled bytes, so `f32`/`u32` tensors are read zero-copy.
#[repr(C, align(8))]
struct Aligned<T: ?Sized>(T);

static BUNDLED: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/model.safetensors")));
/// `bundled` or `missing`, set by `build.rs`.
const BUNDLED_STATUS: &str = env!("EDGEREC_MODEL_STATUS");
/// The artifact path `build.rs` read (relative to the repository when inside it).
const BUNDLED_PATH: &str = env!("EDGEREC_MODEL_PATH");

/// Where a loaded model came from, for `/health`.
#[derive(Debug)]
pub struct Provenance {
    /// `bundled` or `r2`.
    pub source: &'static str,
    /// The bundled path or the R2 `binding/key`.
    pub location: String,
    /// Size of the artifact.
    pub bytes: usize,
    /// FNV-1a 64 of the artifact's bytes, as hex: identifies the exact model served.
    pub version: String,
}

/// A model ready to answer queries.
#[derive(Clone, Copy)]
pub struct Ready {
    pub model: &'static Model<'static>,
    pub provenance: &'static Provenance,
}

/// What the Worker can serve right now.
pub enum Status {
    Ready(Ready),
    /// No usable model; the reason is reported by `/health`, and the API routes answer 503.
    Unavailable(String),
}

type Loaded<M> = Result<(M, Provenance), String>;

static BUNDLED_MODEL: OnceLock<Loaded<Model<'static>>> = OnceLock::new();
static R2_MODEL: OnceLock<Loaded<OwnedModel>> = OnceLock::new();

/// The model for this isolate, loading it on first use.
pub async fn get(env: &Env, config: &Config) -> Status {
    if config.r2_binding.is_empty() { bundled() } else { r2(env, &config.r2_binding, &config.r2_key).await }
}

/// The API routes' view: the model, or a 503 error.
pub fn require(status: &Status) -> Result<Ready, crate::error::ApiError> {
    match status {
        Status::Ready(ready) => Ok(*ready),
        Status::Unavailable(reason) => {
            Err(crate::error::ApiError::unavailable(format!("no model is loaded: {reason}")))
        }
    }
}

fn status_of(loaded: &'static Loaded<Model<'static>>) -> Status {
    match loaded {
        Ok((model, provenance)) => Status::Ready(Ready { model, provenance }),
        Err(reason) => Status::Unavailable(reason.clone()),
    }
}

fn bundled() -> Status {
    status_of(BUNDLED_MODEL.get_or_init(|| {
        let bytes: &'static [u8] = &BUNDLED.0;
        if BUNDLED_STATUS != "bundled" {
            return Err(format!("no model was bundled: `{BUNDLED_PATH}` did not exist at build time"));
        }
        let model = Model::from_bytes(bytes)
            .map_err(|e| format!("the bundled model `{BUNDLED_PATH}` is invalid: {e}"))?;
        let provenance = Provenance {
            source: "bundled",
            location: BUNDLED_PATH.to_owned(),
            bytes: bytes.len(),
            version: fnv1a64(bytes),
        };
        Ok((model, provenance))
    }))
}

async fn r2(env: &Env, binding: &str, key: &str) -> Status {
    if let Some(loaded) = R2_MODEL.get() {
        return r2_status(loaded);
    }
    let location = format!("{binding}/{key}");
    // Fetch errors are not cached: the next request tries again. A fetched but invalid model is.
    let bytes = match fetch_r2(env, binding, key).await {
        Ok(bytes) => bytes,
        Err(reason) => return Status::Unavailable(format!("cannot load `{location}` from R2: {reason}")),
    };
    let loaded = R2_MODEL.get_or_init(move || {
        let provenance = Provenance {
            source: "r2",
            location: location.clone(),
            bytes: bytes.len(),
            version: fnv1a64(&bytes),
        };
        OwnedModel::from_vec(bytes)
            .map(|model| (model, provenance))
            .map_err(|e| format!("the model `{location}` in R2 is invalid: {e}"))
    });
    r2_status(loaded)
}

fn r2_status(loaded: &'static Loaded<OwnedModel>) -> Status {
    match loaded {
        Ok((owned, provenance)) => Status::Ready(Ready { model: owned.model(), provenance }),
        Err(reason) => Status::Unavailable(reason.clone()),
    }
}

async fn fetch_r2(env: &Env, binding: &str, key: &str) -> Result<Vec<u8>, String> {
    let bucket = env.bucket(binding).map_err(|e| format!("no R2 binding `{binding}`: {e}"))?;
    let object = bucket.get(key).execute().await.map_err(|e| e.to_string())?;
    let object = object.ok_or_else(|| "the object does not exist".to_owned())?;
    let body = object.body().ok_or_else(|| "the object has no body".to_owned())?;
    body.bytes().await.map_err(|e| e.to_string())
}

/// FNV-1a, 64-bit: a cheap fingerprint of the model bytes (not a security hash).
fn fnv1a64(bytes: &[u8]) -> String {
    let hash = bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("{hash:016x}")
}

/// Linear memory of this wasm instance in bytes (the model, the heap and the stack).
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
