//! Users outside the artifact (`users = external`): each user's record lives in Workers KV under
//! `<model version>/<user id>` as base64 text (written by `trainer export-users`, uploaded with
//! `wrangler kv bulk put`), and is read when a request names a user the artifact does not hold.
//!
//! Keys carry the model's version because a record only makes sense with the model it was
//! trained with: after a swap, the new model reads its own records and never a stale one. Each
//! isolate keeps the decoded records (and the users KV does not know) in an LRU cache of
//! `USERS_CACHE_ENTRIES` entries per model version; nothing else bounds it, so the bound is also
//! the memory bound (a d = 64 record with 50 seen items is about 1 KB).

use std::cell::RefCell;
use std::num::NonZeroUsize;
use std::rc::Rc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use edgerec_core::UserRecord;
use lru::LruCache;
use worker::Env;

use crate::config::Config;
use crate::error::{ApiError, ErrorCode};
use crate::store::Ready;

/// A cached lookup: the decoded record, or `None` when KV holds no record for the user.
type Entry = Option<Rc<UserRecord>>;

struct Cache {
    version: String,
    entries: LruCache<String, Entry>,
}

thread_local! {
    static CACHE: RefCell<Option<Cache>> = const { RefCell::new(None) };
}

/// The record of `user_id` when the model keeps its users in KV and does not hold this one;
/// `None` when the model holds the user, keeps users inline, or KV has no record (the popular
/// fallback then answers, as for any unknown user).
pub async fn lookup(env: &Env, config: &Config, ready: Ready<'_>, user_id: &str) -> Result<Entry, ApiError> {
    let model = ready.model;
    crate::http::check_id("user_id", user_id)?;
    if !model.users_external() || model.user_index(user_id).is_some() || config.users_kv_binding.is_empty() {
        return Ok(None);
    }
    let version = &ready.provenance.version;
    if let Some(hit) = cached(version, user_id, config.users_cache_entries) {
        return Ok(hit);
    }
    let kv = env.kv(&config.users_kv_binding).map_err(|e| {
        ApiError::new(
            ErrorCode::UsersUnavailable,
            format!("no KV binding `{}` for users: {e}", config.users_kv_binding),
        )
    })?;
    let key = edgerec_core::user_record_key(version, user_id);
    let text = kv.get(&key).text().await.map_err(|e| {
        ApiError::new(ErrorCode::UsersUnavailable, format!("cannot read the user from KV: {e}"))
    })?;
    let corrupt = |e: String| {
        ApiError::new(ErrorCode::CorruptUserRecord, format!("the KV record of `{user_id}` is invalid: {e}"))
    };
    let entry = match text {
        None => None,
        // Records are base64 text (see `trainer export-users`).
        Some(text) => {
            let bytes = BASE64.decode(text.trim()).map_err(|e| corrupt(e.to_string()))?;
            Some(Rc::new(UserRecord::decode(&bytes, model).map_err(|e| corrupt(e.to_string()))?))
        }
    };
    store(version, user_id, entry.clone(), config.users_cache_entries);
    Ok(entry)
}

/// Deletes `user_id`'s records under the versions of `models` that keep their users in KV (and
/// this isolate's cached copy); returns how many keys were deleted (KV does not say whether a
/// key existed, so this counts the keys asked for).
pub async fn delete(
    env: &Env,
    config: &Config,
    models: &[Ready<'_>],
    user_id: &str,
) -> Result<usize, ApiError> {
    let versions: Vec<&str> =
        models.iter().filter(|r| r.model.users_external()).map(|r| r.provenance.version.as_str()).collect();
    if versions.is_empty() || config.users_kv_binding.is_empty() {
        return Ok(0);
    }
    let unavailable = |e: String| {
        ApiError::new(ErrorCode::UsersUnavailable, format!("cannot delete the user's KV records: {e}"))
    };
    let kv = env.kv(&config.users_kv_binding).map_err(|e| unavailable(e.to_string()))?;
    for version in &versions {
        let key = edgerec_core::user_record_key(version, user_id);
        kv.delete(&key).await.map_err(|e| unavailable(e.to_string()))?;
    }
    CACHE.with_borrow_mut(|cache| {
        if let Some(cache) = cache {
            cache.entries.pop(user_id);
        }
    });
    Ok(versions.len())
}

fn cached(version: &str, user_id: &str, capacity: usize) -> Option<Entry> {
    CACHE.with_borrow_mut(|cache| {
        let cache = cache_for(cache, version, capacity);
        cache.entries.get(user_id).cloned()
    })
}

fn store(version: &str, user_id: &str, entry: Entry, capacity: usize) {
    CACHE.with_borrow_mut(|cache| {
        cache_for(cache, version, capacity).entries.put(user_id.to_owned(), entry);
    });
}

/// This isolate's cache for the model of `version`: a new model starts an empty one.
fn cache_for<'c>(cache: &'c mut Option<Cache>, version: &str, capacity: usize) -> &'c mut Cache {
    if cache.as_ref().is_some_and(|c| c.version != version) {
        *cache = None;
    }
    cache.get_or_insert_with(|| Cache {
        version: version.to_owned(),
        entries: LruCache::new(NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_is_bounded_and_starts_over_for_a_new_model() {
        store("v1", "a", None, 2);
        store("v1", "b", None, 2);
        store("v1", "c", None, 2);
        assert_eq!(cached("v1", "a", 2), None, "the least recently used entry is evicted");
        assert_eq!(cached("v1", "c", 2), Some(None));
        assert_eq!(cached("v2", "c", 2), None, "another model's entries are gone");
    }
}
