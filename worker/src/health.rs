//! `GET /health`: the seed's shape plus the model's version, creation time and provenance, and
//! the hot-swap state: the current model and the canary, when each was loaded, the last pointer
//! check and the last refresh error.

use serde::Serialize;

use crate::catalogue;
use crate::error::ApiError;
use crate::http::Reply;
use crate::store::{self, Report, Status};

#[derive(Serialize)]
struct Health<'a> {
    status: &'static str,
    model_loaded: bool,
    num_users: usize,
    num_items: usize,
    /// The current model's version (SHA-256 prefix of the artifact).
    #[serde(skip_serializing_if = "Option::is_none")]
    model_version: Option<&'a str>,
    /// The trainer's creation time (RFC 3339), when the artifact records it.
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<ModelFacts<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model_error: Option<&'a str>,
    models: Models<'a>,
    availability: Availability<'a>,
    /// Linear memory of this isolate's wasm instance, in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    wasm_memory_bytes: Option<usize>,
}

/// The hot-swap state of this isolate.
#[derive(Serialize)]
struct Models<'a> {
    current: Option<Loaded<'a>>,
    canary: Option<Loaded<'a>>,
    refresh_seconds: u64,
    last_check: Option<&'a str>,
    error: Option<&'a str>,
}

/// This isolate's copy of the item availability (`PUT /admin/items`).
#[derive(Serialize)]
struct Availability<'a> {
    /// The stored version in use; `null` before the first read, or without a `DB` binding.
    version: Option<i64>,
    /// When that version was written, and when this isolate read it (RFC 3339).
    updated_at: Option<String>,
    read_at: Option<&'a str>,
    refresh_seconds: u64,
    /// Items of the current model unavailable now.
    unavailable_items: Option<usize>,
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct Loaded<'a> {
    version: &'a str,
    /// The current model's source; a canary always comes from the pointer.
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'static str>,
    /// The canary's share of users.
    #[serde(skip_serializing_if = "Option::is_none")]
    percent: Option<u8>,
    loaded_at: &'a str,
}

#[derive(Serialize)]
struct ModelFacts<'a> {
    /// The loaded artifact's format version.
    format_version: u32,
    kind: &'static str,
    dim: usize,
    categories: Vec<&'a str>,
    source: &'static str,
    location: &'a str,
    bytes: usize,
    /// The recency component that shifts a user's list by their latest items, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    recency: Option<edgerec_core::RecencyInfo>,
    /// A ranking model's rating head (its factor dimension), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    rating_head_dim: Option<usize>,
    /// The sequence network that sessions and visitors run through, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence: Option<edgerec_core::SequenceInfo>,
}

/// 200 with the models' facts, or 503 saying why no model is loaded.
pub fn get(status: &Status, report: &Report, items: &catalogue::Report) -> Result<Reply, ApiError> {
    let wasm_memory_bytes = store::wasm_memory_bytes();
    let availability = Availability {
        version: items.version,
        updated_at: items.updated_at.map(|t| crate::timing::rfc3339(t as f64)),
        read_at: items.read_at.as_deref(),
        refresh_seconds: items.refresh_seconds,
        unavailable_items: items.unavailable,
        error: items.error.as_deref(),
    };
    let mut models = Models {
        current: None,
        canary: None,
        refresh_seconds: report.refresh_seconds,
        last_check: report.last_check.as_deref(),
        error: report.error.as_deref(),
    };
    match status {
        Status::Ready(serving) => {
            let ready = serving.current.ready();
            let (m, p) = (ready.model, ready.provenance);
            let info = m.info();
            models.current = Some(Loaded {
                version: &p.version,
                source: Some(p.source),
                percent: None,
                loaded_at: &p.loaded_at,
            });
            models.canary = serving.canary.as_ref().map(|(canary, percent)| Loaded {
                version: &canary.provenance.version,
                source: None,
                percent: Some(*percent),
                loaded_at: &canary.provenance.loaded_at,
            });
            Reply::json(&Health {
                status: "healthy",
                model_loaded: true,
                num_users: m.num_users(),
                num_items: m.num_items(),
                model_version: Some(&p.version),
                created_at: m.metadata("created_at"),
                model: Some(ModelFacts {
                    format_version: info.format_version,
                    kind: m.kind().as_str(),
                    dim: m.dim(),
                    categories: m.categories(),
                    source: p.source,
                    location: &p.location,
                    bytes: p.bytes,
                    recency: info.recency,
                    rating_head_dim: info.rating_head_dim,
                    sequence: info.sequence,
                }),
                model_error: None,
                models,
                availability,
                wasm_memory_bytes,
            })
        }
        Status::Unavailable(reason) => Ok(Reply::json(&Health {
            status: "unhealthy",
            model_loaded: false,
            num_users: 0,
            num_items: 0,
            model_version: None,
            created_at: None,
            model: None,
            model_error: Some(reason),
            models,
            availability,
            wasm_memory_bytes,
        })?
        .with_status(503)),
    }
}

#[cfg(test)]
mod tests {
    use edgerec_core::SequenceInfo;

    /// The `sequence` object in `/health` has the fields the OpenAPI document declares.
    #[test]
    fn the_sequence_facts_match_the_openapi_document() {
        let spec: serde_json::Value = serde_json::from_str(include_str!("openapi.json")).unwrap_or_default();
        let facts = &spec["components"]["schemas"]["Health"]["properties"]["model"]["properties"]["sequence"];
        let mut declared: Vec<&str> = facts["properties"]
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        declared.sort_unstable();
        let sent = serde_json::to_value(SequenceInfo { max_len: 50, blocks: 2 }).unwrap_or_default();
        let mut keys: Vec<&str> =
            sent.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
        keys.sort_unstable();
        assert_eq!(keys, ["blocks", "max_len"]);
        assert_eq!(declared, keys);
    }
}
