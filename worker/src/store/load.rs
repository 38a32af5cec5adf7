//! Loading one model: the bundle (parsed once per isolate), or an R2 object read in chunks
//! into one buffer of its final size, so no second full copy is ever alive.

use std::cell::RefCell;
use std::rc::Rc;

use edgerec_core::{Model, OwnedModel};
use futures_util::StreamExt;
use worker::Bucket;

use super::pointer::Entry;
use super::{Artifact, Provenance, Served};

/// 8-byte alignment for the bundled bytes, so `f32`/`u32` tensors are read zero-copy.
#[repr(C, align(8))]
struct Aligned<T: ?Sized>(T);

static BUNDLED: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/model.safetensors")));
/// `bundled` or `missing`, set by `build.rs`.
const BUNDLED_STATUS: &str = env!("EDGEREC_MODEL_STATUS");
/// The artifact path `build.rs` read (relative to the repository when inside it).
const BUNDLED_PATH: &str = env!("EDGEREC_MODEL_PATH");
/// SHA-256 prefix of the bundled bytes, computed by `build.rs`.
const BUNDLED_VERSION: &str = env!("EDGEREC_MODEL_VERSION");

/// What to serve, before it is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Bundled,
    /// `MODEL_R2_KEY`, identified by its etag.
    Legacy {
        key: String,
        etag: String,
    },
    /// A pointer entry.
    Entry(Entry),
}

impl Target {
    /// Equal ids are the same model (see [`Served`]).
    pub fn id(&self) -> String {
        match self {
            Self::Bundled => "bundled".to_owned(),
            Self::Legacy { key, etag } => format!("r2:{key}@{etag}"),
            Self::Entry(entry) => format!("pointer:{}@{}", entry.key, entry.version),
        }
    }
}

/// A failed load. Permanent failures (a missing or invalid artifact) are not retried until the
/// pointer moves; transient ones (R2 errors) are, at the next refresh.
#[derive(Debug)]
pub struct LoadError {
    pub message: String,
    pub permanent: bool,
}

impl LoadError {
    fn permanent(message: String) -> Self {
        Self { message, permanent: true }
    }

    fn transient(message: String) -> Self {
        Self { message, permanent: false }
    }
}

thread_local! {
    static BUNDLED_MODEL: RefCell<Option<Result<Rc<Served>, String>>> = const { RefCell::new(None) };
}

/// The bundled model, parsed on first use.
pub fn bundled(now: &str) -> Result<Rc<Served>, String> {
    if let Some(loaded) = BUNDLED_MODEL.with_borrow(Clone::clone) {
        return loaded;
    }
    let loaded = parse_bundled(now).map(Rc::new);
    BUNDLED_MODEL.with_borrow_mut(|cell| *cell = Some(loaded.clone()));
    loaded
}

fn parse_bundled(now: &str) -> Result<Served, String> {
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
        version: BUNDLED_VERSION.to_owned(),
        loaded_at: now.to_owned(),
    };
    Ok(Served::new(Artifact::Bundled(Box::new(model)), provenance, Target::Bundled.id()))
}

/// Loads `target` from `bucket` (the binding's name is for messages), validating it with the
/// core. A pointer entry keeps the version the pointer records (not rehashed); the legacy
/// object is hashed. The bundle is parsed once per isolate and shared.
pub async fn load(
    bucket: &Bucket,
    binding: &str,
    target: &Target,
    now: &str,
) -> Result<Rc<Served>, LoadError> {
    let (key, source) = match target {
        Target::Bundled => return bundled(now).map_err(LoadError::permanent),
        Target::Legacy { key, .. } => (key, "r2"),
        Target::Entry(entry) => (&entry.key, "pointer"),
    };
    let location = format!("{binding}/{key}");
    let bytes = read_object(bucket, key)
        .await
        .map_err(|e| LoadError::transient(format!("cannot read `{location}` from R2: {e}")))?
        .ok_or_else(|| LoadError::permanent(format!("`{location}` does not exist")))?;
    let version = match target {
        Target::Entry(entry) if entry.bytes != bytes.len() as u64 => {
            return Err(LoadError::permanent(format!(
                "`{location}` has {} bytes, the pointer says {}",
                bytes.len(),
                entry.bytes
            )));
        }
        Target::Entry(entry) => entry.version.clone(),
        _ => edgerec_core::artifact_version(&bytes),
    };
    let size = bytes.len();
    let model = OwnedModel::from_vec(bytes)
        .map_err(|e| LoadError::permanent(format!("the model `{location}` is invalid: {e}")))?;
    let provenance = Provenance { source, location, bytes: size, version, loaded_at: now.to_owned() };
    Ok(Rc::new(Served::new(Artifact::Owned(model), provenance, target.id())))
}

/// An R2 object's bytes, read as a stream into one buffer sized from the object's metadata
/// (never a JavaScript-side copy of the whole object next to the wasm one). `None` if absent.
pub async fn read_object(bucket: &Bucket, key: &str) -> Result<Option<Vec<u8>>, String> {
    let Some(object) = bucket.get(key).execute().await.map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let size = usize::try_from(object.size()).map_err(|_| "the object is too large".to_owned())?;
    let body = object.body().ok_or("the object has no body")?;
    let mut stream = body.stream().map_err(|e| e.to_string())?;
    let mut bytes = Vec::with_capacity(size);
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.map_err(|e| e.to_string())?);
    }
    Ok(Some(bytes))
}
