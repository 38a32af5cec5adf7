//! The pointer: a small JSON object in R2 that names the current model, its history and an
//! optional canary. Writing it is the only change to what is served, so a half-written or
//! invalid artifact is never served: artifacts are written (and validated) first.

use serde::{Deserialize, Serialize};
use worker::{Bucket, Conditional};

/// Most history entries kept (oldest dropped first).
pub const MAX_HISTORY: usize = 20;

/// One published artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub key: String,
    pub version: String,
    pub bytes: u64,
    pub published_at: String,
}

/// The canary: an entry and the percentage of users it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Canary {
    #[serde(flatten)]
    pub entry: Entry,
    pub percent: u8,
}

/// The pointer object: `{"current", "history" (newest last), "canary"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pointer {
    pub current: Option<Entry>,
    #[serde(default)]
    pub history: Vec<Entry>,
    #[serde(default)]
    pub canary: Option<Canary>,
}

impl Pointer {
    /// Makes `entry` current: the old current goes to the history, any canary is cleared.
    pub fn set_current(&mut self, entry: Entry) {
        if let Some(old) = self.current.take()
            && old.key != entry.key
        {
            self.history.push(old);
        }
        let excess = self.history.len().saturating_sub(MAX_HISTORY);
        self.history.drain(..excess);
        self.current = Some(entry);
        self.canary = None;
    }

    /// Makes `entry` the canary for `percent` % of users.
    pub fn set_canary(&mut self, entry: Entry, percent: u8) {
        self.canary = Some(Canary { entry, percent });
    }

    /// Removes the canary if there is one, else makes the newest history entry current. With no
    /// history, the first published model goes too, and the deployment's own model (the bundled
    /// one, or `MODEL_R2_KEY`) is served again, as before the first publish. `false` when there
    /// is nothing to roll back to.
    pub fn rollback(&mut self) -> bool {
        if self.canary.take().is_some() {
            return true;
        }
        match self.history.pop() {
            Some(previous) => {
                self.current = Some(previous);
                true
            }
            None => self.current.take().is_some(),
        }
    }

    /// Makes the canary current. `false` without a canary.
    pub fn promote(&mut self) -> bool {
        match self.canary.take() {
            Some(canary) => {
                self.set_current(canary.entry);
                true
            }
            None => false,
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::{Entry, MAX_HISTORY, Pointer};

    fn entry(n: usize) -> Entry {
        Entry { key: format!("k{n}"), version: format!("v{n}"), bytes: 1, published_at: String::new() }
    }

    #[test]
    fn current_canary_promote_rollback() {
        let mut p = Pointer::default();
        assert!(!p.rollback());
        assert!(!p.promote());
        p.set_current(entry(1));
        p.set_current(entry(2));
        assert_eq!((p.current.clone(), p.history.clone()), (Some(entry(2)), vec![entry(1)]));
        p.set_canary(entry(3), 30);
        assert!(p.rollback(), "the canary goes first");
        assert_eq!((p.current.clone(), p.canary.clone()), (Some(entry(2)), None));
        p.set_canary(entry(3), 30);
        assert!(p.promote());
        assert_eq!((p.current.clone(), p.history.clone()), (Some(entry(3)), vec![entry(1), entry(2)]));
        assert!(p.rollback());
        assert!(p.rollback());
        assert_eq!((p.current.clone(), p.history.len()), (Some(entry(1)), 0));
        assert!(p.rollback(), "the first publish rolls back to the deployment's own model");
        assert_eq!(p, Pointer::default());
        assert!(!p.rollback());
    }

    #[test]
    fn a_first_publish_can_be_rolled_back_and_published_again() {
        let mut p = Pointer::default();
        p.set_current(entry(1));
        assert!(p.rollback());
        assert_eq!((p.current.clone(), p.history.len()), (None, 0));
        p.set_current(entry(2));
        assert_eq!((p.current.clone(), p.history.len()), (Some(entry(2)), 0));
    }

    #[test]
    fn history_is_bounded_and_the_json_has_the_contract_shape() {
        let mut p = Pointer::default();
        for n in 0..MAX_HISTORY + 5 {
            p.set_current(entry(n));
        }
        assert_eq!(p.history.len(), MAX_HISTORY);
        assert_eq!(p.history[0], entry(4));
        p.set_canary(entry(99), 5);
        let json: serde_json::Value = serde_json::to_value(&p).unwrap_or_default();
        assert_eq!(json["canary"]["percent"], 5);
        assert_eq!(json["canary"]["key"], "k99");
        assert_eq!(
            serde_json::to_string(&Pointer::default()).ok().as_deref(),
            Some(r#"{"current":null,"history":[],"canary":null}"#)
        );
    }
}
