//! `/admin/model*`: publishing models to R2 and moving the pointer (behind the admin token).
//!
//! An artifact is validated with the core before anything is written; it is stored under its
//! content hash, `models/<sha256>.safetensors`, and only then does the pointer move. Moving the
//! pointer is the only change to what is served (see [`crate::store::pointer`]), and it is a
//! conditional write: two publishers racing get one success and one 409, never a lost update.

use edgerec_core::wire::Published;
use serde::Deserialize;
use worker::{Bucket, Env};

use crate::config::Config;
use crate::error::{self, ApiError, ErrorCode};
use crate::http::{self, Incoming, Reply};
use crate::store;
use crate::store::pointer::{self, Entry, Pointer};
use crate::timing;

/// Largest artifact `PUT /admin/model` accepts (Cloudflare's request-body limit on the lower
/// plans); larger ones go to R2 with `wrangler r2 object put`, then `activate`.
pub const MAX_MODEL_BYTES: usize = 100 * 1024 * 1024;
/// Longest accepted R2 key (R2's own limit).
const MAX_KEY_BYTES: usize = 1024;

/// The `/admin/model*` routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `/admin/model`: `GET` the pointer, `PUT` an artifact.
    Pointer,
    /// `POST /admin/model/activate`.
    Activate,
    /// `POST /admin/model/rollback`.
    Rollback,
    /// `POST /admin/model/promote`.
    Promote,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Activate {
    key: String,
    #[serde(default)]
    canary: Option<u64>,
}

/// Answers an (already authorised) admin request.
pub async fn answer(req: &Incoming, env: &Env, config: &Config, action: Action) -> Result<Reply, ApiError> {
    let bucket = match store::bucket(env, config) {
        None => return Err(ApiError::not_found("model publishing is off: `MODEL_R2_BINDING` is empty")),
        Some(bucket) => bucket.map_err(storage)?,
    };
    match (action, req.method.as_str()) {
        (Action::Pointer, "PUT") => put(req, &bucket, config).await,
        (Action::Pointer, _) => Reply::json(&read(&bucket, config).await?.0),
        (Action::Activate, _) => activate(req, &bucket, config).await,
        (Action::Rollback, _) => {
            change(
                &bucket,
                config,
                Pointer::rollback,
                "nothing to roll back: no canary, and the deployment's own model is already served",
            )
            .await
        }
        (Action::Promote, _) => {
            change(&bucket, config, Pointer::promote, "there is no canary to promote").await
        }
    }
}

/// `PUT /admin/model[?canary=P]`: the body is the artifact.
async fn put(req: &Incoming, bucket: &Bucket, config: &Config) -> Result<Reply, ApiError> {
    let percent = canary(http::query_param(&req.query_pairs()?, "canary").map(str::parse::<u64>))?;
    let bytes = req.bytes_body(MAX_MODEL_BYTES).await?;
    validate(&bytes)?;
    let sha256 = edgerec_core::artifact_sha256(&bytes);
    let key = format!("models/{sha256}.safetensors");
    let entry = Entry {
        key: key.clone(),
        version: sha256[..16].to_owned(),
        bytes: bytes.len() as u64,
        published_at: timing::rfc3339(timing::now_ms()),
    };
    bucket.put(&key, bytes).execute().await.map_err(|e| storage(e.to_string()))?;
    publish(bucket, config, entry, percent).await
}

/// `POST /admin/model/activate {"key", "canary"?}`: an artifact already in the bucket.
async fn activate(req: &Incoming, bucket: &Bucket, config: &Config) -> Result<Reply, ApiError> {
    let body: Activate = serde_json::from_slice(&req.json_body(http::MAX_BODY_BYTES).await?)
        .map_err(|e| error::from_json_error(&e))?;
    let percent = canary(body.canary.map(Ok::<u64, ()>))?;
    let key = body.key;
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(ApiError::invalid(format!("`key` must be 1..={MAX_KEY_BYTES} bytes")));
    }
    if key == config.pointer_key {
        return Err(ApiError::invalid(format!("`{key}` is the pointer itself, not a model")));
    }
    let bytes = store::read_object(bucket, &key)
        .await
        .map_err(storage)?
        .ok_or_else(|| ApiError::not_found(format!("no object `{key}` in the bucket")))?;
    validate(&bytes)?;
    let entry = Entry {
        version: edgerec_core::artifact_version(&bytes),
        bytes: bytes.len() as u64,
        key,
        published_at: timing::rfc3339(timing::now_ms()),
    };
    drop(bytes);
    publish(bucket, config, entry, percent).await
}

/// The core's verdict on an artifact: 400 for an empty body, 422 with the core's message for
/// an invalid one.
fn validate(bytes: &[u8]) -> Result<(), ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::invalid("the body is empty: send the model artifact's bytes"));
    }
    edgerec_core::Model::from_bytes(bytes)
        .map(drop)
        .map_err(|e| ApiError::new(ErrorCode::InvalidModel, format!("the model is invalid: {e}")))
}

/// A canary percentage: an integer in 1..=100.
fn canary<E>(raw: Option<Result<u64, E>>) -> Result<Option<u8>, ApiError> {
    match raw {
        None => Ok(None),
        Some(Ok(p)) if (1..=100).contains(&p) => Ok(u8::try_from(p).ok()),
        Some(_) => Err(ApiError::invalid("`canary` must be an integer percentage in 1..=100")),
    }
}

/// Moves the pointer to `entry` (current, or canary for `percent` %).
async fn publish(
    bucket: &Bucket,
    config: &Config,
    entry: Entry,
    percent: Option<u8>,
) -> Result<Reply, ApiError> {
    let (mut pointer, etag) = read(bucket, config).await?;
    let role = match percent {
        Some(p) => {
            pointer.set_canary(entry.clone(), p);
            "canary"
        }
        None => {
            pointer.set_current(entry.clone());
            "current"
        }
    };
    write(bucket, config, &pointer, etag).await?;
    Reply::json(&Published {
        version: entry.version,
        key: entry.key,
        bytes: entry.bytes,
        role: role.into(),
        percent,
    })
}

/// Rollback or promote: applies `change` to the pointer (409 with `nothing` if it cannot).
async fn change(
    bucket: &Bucket,
    config: &Config,
    change: fn(&mut Pointer) -> bool,
    nothing: &str,
) -> Result<Reply, ApiError> {
    let (mut pointer, etag) = read(bucket, config).await?;
    if !change(&mut pointer) {
        return Err(ApiError::new(ErrorCode::Conflict, nothing));
    }
    write(bucket, config, &pointer, etag).await?;
    Reply::json(&pointer)
}

async fn read(bucket: &Bucket, config: &Config) -> Result<(Pointer, Option<String>), ApiError> {
    match pointer::read(bucket, &config.pointer_key).await {
        Ok(Some((pointer, etag))) => Ok((pointer, Some(etag))),
        Ok(None) => Ok((Pointer::default(), None)),
        Err(e) => Err(ApiError::new(ErrorCode::Conflict, format!("{e}; fix or delete it in R2 first"))),
    }
}

async fn write(
    bucket: &Bucket,
    config: &Config,
    pointer: &Pointer,
    etag: Option<String>,
) -> Result<(), ApiError> {
    match pointer::write(bucket, &config.pointer_key, pointer, etag).await {
        Ok(true) => {
            store::mark_stale();
            Ok(())
        }
        Ok(false) => {
            Err(ApiError::new(ErrorCode::Conflict, "the pointer changed while this request ran; retry"))
        }
        Err(e) => Err(storage(e)),
    }
}

fn storage(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::StorageUnavailable, format!("R2: {}", message.into()))
}

#[cfg(test)]
mod tests {
    use super::{canary, validate};

    #[test]
    fn canary_is_a_percentage() {
        assert_eq!(canary::<()>(None), Ok(None));
        assert_eq!(canary::<()>(Some(Ok(1))), Ok(Some(1)));
        assert_eq!(canary::<()>(Some(Ok(100))), Ok(Some(100)));
        for bad in [Ok(0), Ok(101), Err(())] {
            assert_eq!(canary(Some(bad)).map_err(|e| e.status()), Err(400));
        }
    }

    #[test]
    fn corrupt_artifacts_are_4xx() {
        assert_eq!(validate(&[]).map_err(|e| e.status()), Err(400));
        assert_eq!(validate(b"not a model at all").map_err(|e| e.status()), Err(422));
    }
}
