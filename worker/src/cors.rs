//! CORS: allowed origins come from the `ALLOWED_ORIGINS` var (`*`, or a comma-separated list).

use worker::{Env, Headers};

/// The origins this deployment allows.
pub struct Policy {
    any: bool,
    origins: Vec<String>,
}

impl Policy {
    pub fn from_env(env: &Env) -> Self {
        let raw = env.var("ALLOWED_ORIGINS").map(|v| v.to_string()).unwrap_or_else(|_| "*".to_owned());
        let origins: Vec<String> = raw
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        Self { any: origins.iter().any(|o| o == "*"), origins }
    }

    /// The `Access-Control-Allow-Origin` value for a request's `Origin`, if it is allowed.
    pub fn allow(&self, origin: Option<&str>) -> Option<String> {
        let origin = origin?;
        if self.any {
            Some("*".to_owned())
        } else if self.origins.iter().any(|o| o == origin) {
            Some(origin.to_owned())
        } else {
            None
        }
    }

    /// Adds the CORS headers of an actual (non-preflight) response.
    pub fn apply(&self, headers: &Headers, origin: Option<&str>) {
        if !self.any {
            headers.set("vary", "Origin").ok();
        }
        if let Some(allowed) = self.allow(origin) {
            headers.set("access-control-allow-origin", &allowed).ok();
            headers.set("access-control-expose-headers", "Server-Timing").ok();
            headers.set("timing-allow-origin", &allowed).ok();
        }
    }

    /// Adds the headers of a preflight answer for a route allowing `methods`.
    pub fn apply_preflight(&self, headers: &Headers, origin: Option<&str>, methods: &str) {
        self.apply(headers, origin);
        headers.set("access-control-allow-methods", &format!("{methods}, OPTIONS")).ok();
        headers.set("access-control-allow-headers", "Content-Type, Authorization").ok();
        headers.set("access-control-max-age", "86400").ok();
    }
}
