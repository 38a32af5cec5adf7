//! The deployment's settings (`[vars]` in `wrangler.toml`), read once per isolate.
//!
//! Vars are fixed for the life of an isolate (changing one deploys a new version, and
//! `wrangler dev` restarts the Worker), so they are read and parsed on the first request and
//! reused: a request does no `env` lookups for them. The API key and the admin token are
//! secrets and are read only by the routes that need them.

use std::sync::OnceLock;

use worker::Env;

use crate::cors::Policy;

/// Seconds between two reads of the model pointer when `MODEL_REFRESH_SECONDS` is unset.
pub const DEFAULT_REFRESH_SECONDS: u64 = 30;

/// Seconds between two reads of the item availability when `AVAILABILITY_REFRESH_SECONDS` is
/// unset.
pub const DEFAULT_AVAILABILITY_REFRESH_SECONDS: u64 = 10;

/// The D1 binding: the event log and the item availability.
pub const D1_BINDING: &str = "DB";

/// Records kept per isolate when `USERS_CACHE_ENTRIES` is unset.
pub const DEFAULT_USERS_CACHE_ENTRIES: usize = 10_000;

/// The parsed settings.
pub struct Config {
    /// `ALLOWED_ORIGINS`.
    pub cors: Policy,
    /// `MODEL_R2_BINDING`: empty means the bundled model only.
    pub r2_binding: String,
    /// `MODEL_R2_KEY`, `model.safetensors` when unset: served when there is no pointer.
    pub r2_key: String,
    /// `MODEL_POINTER_KEY`, `current` when unset: the pointer object in the bucket.
    pub pointer_key: String,
    /// `MODEL_REFRESH_SECONDS`: how often an isolate re-reads the pointer (at most).
    pub refresh_seconds: u64,
    /// `USERS_KV_BINDING`: the KV namespace of user records for models whose users live outside
    /// the artifact; empty turns KV lookups off.
    pub users_kv_binding: String,
    /// `USERS_CACHE_ENTRIES`: how many user records an isolate keeps decoded (LRU).
    pub users_cache_entries: usize,
    /// `AVAILABILITY_REFRESH_SECONDS`: how often an isolate re-reads item availability, and the
    /// users deleted since its last read (at most).
    pub availability_refresh_seconds: u64,
    /// `IMPRESSIONS`: count each answer as an impression (`on`, the default) or not (`off`).
    pub impressions: bool,
}

static CONFIG: OnceLock<Config> = OnceLock::new();

/// This isolate's settings, read from `env` on first use.
pub fn get(env: &Env) -> &'static Config {
    CONFIG.get_or_init(|| {
        let var = |name: &str| env.var(name).map(|v| v.to_string()).unwrap_or_default().trim().to_owned();
        let or = |value: String, default: &str| if value.is_empty() { default.to_owned() } else { value };
        let origins = env.var("ALLOWED_ORIGINS").map(|v| v.to_string()).unwrap_or_else(|_| "*".to_owned());
        Config {
            cors: Policy::parse(&origins),
            r2_binding: var("MODEL_R2_BINDING"),
            r2_key: or(var("MODEL_R2_KEY"), "model.safetensors"),
            pointer_key: or(var("MODEL_POINTER_KEY"), "current"),
            refresh_seconds: var("MODEL_REFRESH_SECONDS").parse().unwrap_or(DEFAULT_REFRESH_SECONDS),
            users_kv_binding: var("USERS_KV_BINDING"),
            users_cache_entries: var("USERS_CACHE_ENTRIES").parse().unwrap_or(DEFAULT_USERS_CACHE_ENTRIES),
            impressions: var("IMPRESSIONS") != "off",
            availability_refresh_seconds: var("AVAILABILITY_REFRESH_SECONDS")
                .parse()
                .unwrap_or(DEFAULT_AVAILABILITY_REFRESH_SECONDS),
        }
    })
}
