//! The pointer: a small JSON object in R2 that names the current model, its history and an
//! optional canary. Writing it is the only change to what is served, so a half-written or
//! invalid artifact is never served: artifacts are written (and validated) first.

use worker::{Bucket, Conditional};

pub use edgerec_core::wire::{Entry, Pointer};

/// The pointer as read, with its etag (for a conditional write), or `None` when there is none.
pub async fn read(bucket: &Bucket, key: &str) -> Result<Option<(Pointer, String)>, String> {
    let Some(object) = bucket.get(key).execute().await.map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let etag = object.etag();
    let body = object.body().ok_or("the pointer object has no body")?;
    let text = body.text().await.map_err(|e| e.to_string())?;
    let pointer =
        serde_json::from_str(&text).map_err(|e| format!("the pointer `{key}` is not valid: {e}"))?;
    Ok(Some((pointer, etag)))
}

/// Writes the pointer, only if it still has the etag it was read with (`None`: it did not
/// exist). `Ok(false)` when another write came first.
pub async fn write(
    bucket: &Bucket,
    key: &str,
    pointer: &Pointer,
    etag: Option<String>,
) -> Result<bool, String> {
    let json = serde_json::to_string(pointer).map_err(|e| e.to_string())?;
    let mut put = bucket.put(key, json);
    if let Some(etag) = etag {
        put = put.only_if(Conditional { etag_matches: Some(etag), ..Conditional::default() });
    }
    put.execute().await.map(|written| written.is_some()).map_err(|e| e.to_string())
}
