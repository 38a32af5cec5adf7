//! The deployment's settings (`[vars]` in `wrangler.toml`), read once per isolate.
//!
//! Vars are fixed for the life of an isolate (changing one deploys a new version, and
//! `wrangler dev` restarts the Worker), so they are read and parsed on the first request and
//! reused: a request does no `env` lookups for them. The API key is a secret and is read only by
//! the route that needs it.

use std::sync::OnceLock;

use worker::Env;

use crate::cors::Policy;

/// The parsed settings.
pub struct Config {
    /// `ALLOWED_ORIGINS`.
    pub cors: Policy,
    /// `MODEL_R2_BINDING`: empty means the bundled model.
    pub r2_binding: String,
    /// `MODEL_R2_KEY`, `model.safetensors` when unset.
    pub r2_key: String,
}

static CONFIG: OnceLock<Config> = OnceLock::new();

/// This isolate's settings, read from `env` on first use.
pub fn get(env: &Env) -> &'static Config {
    CONFIG.get_or_init(|| {
        let var = |name: &str| env.var(name).map(|v| v.to_string()).unwrap_or_default().trim().to_owned();
        let r2_key = match var("MODEL_R2_KEY") {
            k if k.is_empty() => "model.safetensors".to_owned(),
            k => k,
        };
        let origins = env.var("ALLOWED_ORIGINS").map(|v| v.to_string()).unwrap_or_else(|_| "*".to_owned());
        Config { cors: Policy::parse(&origins), r2_binding: var("MODEL_R2_BINDING"), r2_key }
    })
}
