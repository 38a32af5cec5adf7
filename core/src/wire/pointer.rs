//! The model pointer: which artifacts the Worker serves (`GET /admin/model`, and the answer of
//! its rollback and promote), and what a publish answers. The Worker keeps the pointer as one
//! JSON object in R2 and moves it only with these methods; `trainer publish` reads both.

use serde::{Deserialize, Serialize};

/// Most history entries kept (oldest dropped first).
pub const MAX_HISTORY: usize = 20;

/// One published artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Its R2 key.
    pub key: String,
    /// Its artifact version (SHA-256 prefix).
    pub version: String,
    /// Its size.
    pub bytes: u64,
    /// When it was published (RFC 3339).
    pub published_at: String,
}

/// The canary: an entry and the percentage of users it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Canary {
    /// The artifact.
    #[serde(flatten)]
    pub entry: Entry,
    /// The share of users it serves, 1 to 100.
    pub percent: u8,
}

/// The pointer object: `{"current", "history" (newest last), "canary"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pointer {
    /// What everyone else is served (None: the deployment's own model).
    pub current: Option<Entry>,
    /// Earlier current models, newest last: what a rollback returns to.
    #[serde(default)]
    pub history: Vec<Entry>,
    /// A model served to a share of users.
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

/// What `PUT /admin/model` and `POST /admin/model/activate` answer: the artifact and the role it
/// took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// Its artifact version.
    pub version: String,
    /// Its R2 key.
    pub key: String,
    /// Its size.
    pub bytes: u64,
    /// `current` or `canary`.
    pub role: String,
    /// The canary's share of users (None for `current`).
    pub percent: Option<u8>,
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
        let json: serde_json::Value = serde_json::to_value(&p).expect("serialises");
        assert_eq!(json["canary"]["percent"], 5);
        assert_eq!(json["canary"]["key"], "k99");
        assert_eq!(
            serde_json::to_string(&Pointer::default()).ok().as_deref(),
            Some(r#"{"current":null,"history":[],"canary":null}"#)
        );
    }
}
