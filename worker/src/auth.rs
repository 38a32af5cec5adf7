//! Bearer-token checks: the optional API key of `GET /users`, and the admin token that guards
//! every `/admin/*` route. Both tokens are Worker secrets (locally, `worker/.dev.vars`), compared
//! in constant time.

use worker::Env;

use crate::error::{ApiError, ErrorCode};
use crate::http::Incoming;

/// Requires `Authorization: Bearer <API_KEY>` when an `API_KEY` secret is configured.
pub fn api_key(req: &Incoming, env: &Env) -> Result<(), ApiError> {
    match secret(env, "API_KEY") {
        None => Ok(()),
        Some(expected) => bearer(req, &expected, "API_KEY", "the API key is wrong"),
    }
}

/// Requires `Authorization: Bearer <ADMIN_TOKEN>`. Without an `ADMIN_TOKEN` secret the admin
/// routes do not exist: 404, so that an unconfigured deployment exposes nothing.
pub fn admin(req: &Incoming, env: &Env) -> Result<(), ApiError> {
    match secret(env, "ADMIN_TOKEN") {
        None => Err(ApiError::not_found("the admin routes are off: no ADMIN_TOKEN secret is configured")),
        Some(expected) => bearer(req, &expected, "ADMIN_TOKEN", "the admin token is wrong"),
    }
}

/// A configured, non-empty secret.
fn secret(env: &Env, name: &str) -> Option<String> {
    env.secret(name).ok().map(|s| s.to_string()).filter(|s| !s.is_empty())
}

fn bearer(req: &Incoming, expected: &str, name: &str, wrong: &'static str) -> Result<(), ApiError> {
    let given = req.header("authorization").unwrap_or_default();
    match token(&given) {
        None => Err(ApiError::new(
            ErrorCode::Unauthorized,
            format!("this route needs `Authorization: Bearer <{name}>`"),
        )),
        Some(token) if constant_time_eq::constant_time_eq(token.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(ApiError::new(ErrorCode::Unauthorized, wrong)),
    }
}

/// The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive).
fn token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::token;

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_the_token_non_empty() {
        assert_eq!(token("Bearer abc"), Some("abc"));
        assert_eq!(token("bearer  abc "), Some("abc"));
        assert_eq!(token("BEARER abc"), Some("abc"));
        assert_eq!(token("Basic abc"), None);
        assert_eq!(token("Bearer "), None);
        assert_eq!(token("Bearerabc"), None);
    }
}
