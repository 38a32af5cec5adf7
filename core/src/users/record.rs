//! Users kept outside the artifact (for example in Workers KV): one compact binary record per
//! user that holds everything a recommendation for a known user reads, so a host can answer for
//! them exactly as if they were in the artifact.
//!
//! The layout (every number little-endian) is documented in `docs/ARTIFACT.md`:
//!
//! | bytes | field |
//! | --- | --- |
//! | 4 | magic `ERUR` |
//! | 2 | record version: `1`, or `2` when a sequence history follows |
//! | 2 | flags: bit 0 = a rating head part follows; other bits 0 |
//! | 2 | `D`, the factor dimension |
//! | 2 | `H`, the rating head's dimension (0 without a head) |
//! | 4 | `S`, seen items |
//! | 4 | `R`, latest items |
//! | 4 | version 2 only: `Q`, the sequence history's length |
//! | 4 + 4·D | bias (f32), factors (f32 × D) |
//! | 4 + 4·H | with a head: head bias (f32), head factors (f32 × H) |
//! | 4·S + 4·S | seen item indices (u32, strictly increasing), their values (f32) |
//! | 4·R | latest item indices (u32), newest first |
//! | 4·Q | version 2 only: the sequence network's history (u32), oldest first |

use crate::model::Model;
use crate::query::session::Known;
use crate::query::{Because, For, RecommendOptions, Recommendations};
use crate::{Error, Result};

/// The four bytes every user record starts with.
pub const USER_RECORD_MAGIC: [u8; 4] = *b"ERUR";
/// The newest user record version this build reads (and 1, the version it writes for a model
/// without a sequence part, byte for byte as before version 2 existed).
pub const USER_RECORD_VERSION: u16 = 2;
const HEADER: usize = 20;
/// Version 2's header: version 1's and `Q`.
const HEADER_V2: usize = 24;

/// The key-value store key of a user's record: `<version>/<user id>`, where `version` is the
/// [`crate::artifact_version`] of the artifact the record belongs to (the one without users).
/// Records of one model therefore never answer for another, and a new model's records can be
/// uploaded before it is published.
pub fn user_record_key(version: &str, user_id: &str) -> String {
    format!("{version}/{user_id}")
}
const FLAG_HEAD: u16 = 1;

/// One user's part of a model, kept outside the artifact: decoded and checked against a model
/// by [`UserRecord::decode`], taken from an artifact by [`Model::user_record`], and answered
/// for by [`Model::recommend_record`].
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    factors: Vec<f32>,
    bias: f32,
    head: Option<(Vec<f32>, f32)>,
    seen: Vec<u32>,
    seen_values: Vec<f32>,
    recent: Vec<u32>,
    /// The sequence network's history, oldest first (empty for a model without a sequence part).
    sequence: Vec<u32>,
}

impl UserRecord {
    /// The stored interactions as `(item, value)` pairs, and the latest items newest first.
    pub(crate) fn history(&self) -> (Vec<(usize, f64)>, Vec<usize>) {
        let values =
            self.seen.iter().zip(&self.seen_values).map(|(&i, &v)| (i as usize, f64::from(v))).collect();
        (values, self.recent.iter().map(|&i| i as usize).collect())
    }
}

fn bad(message: impl Into<String>) -> Error {
    Error::UserRecord(message.into())
}

/// Reads little-endian fields in order; every read is bounds-checked.
struct Reader<'b>(&'b [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>().ok_or_else(|| bad("the record is truncated"))?;
        self.0 = rest;
        Ok(*head)
    }
    fn u16(&mut self) -> Result<u16> {
        self.take().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Result<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn f32s(&mut self, what: &str, n: usize) -> Result<Vec<f32>> {
        let v: Vec<f32> = (0..n).map(|_| self.take().map(f32::from_le_bytes)).collect::<Result<_>>()?;
        match v.iter().position(|x| !x.is_finite()) {
            None => Ok(v),
            Some(i) => Err(bad(format!("{what}[{i}] is not finite"))),
        }
    }
    fn u32s(&mut self, n: usize) -> Result<Vec<u32>> {
        (0..n).map(|_| self.u32()).collect()
    }
}

impl UserRecord {
    /// The record's bytes (see the module docs for the layout).
    pub fn encode(&self) -> Vec<u8> {
        let head_dim = self.head.as_ref().map_or(0, |(f, _)| f.len());
        let v2 = !self.sequence.is_empty();
        let mut out = Vec::with_capacity(
            HEADER_V2
                + 4 * (2 + self.factors.len() + head_dim + 2 * self.seen.len() + self.recent.len())
                + 4 * self.sequence.len(),
        );
        out.extend_from_slice(&USER_RECORD_MAGIC);
        out.extend_from_slice(&(if v2 { 2u16 } else { 1 }).to_le_bytes());
        out.extend_from_slice(&(if self.head.is_some() { FLAG_HEAD } else { 0 }).to_le_bytes());
        // Lengths were checked against a model (dims ≤ 4096, counts below 2³²) on the way in.
        out.extend_from_slice(&(self.factors.len() as u16).to_le_bytes());
        out.extend_from_slice(&(head_dim as u16).to_le_bytes());
        out.extend_from_slice(&(self.seen.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.recent.len() as u32).to_le_bytes());
        if v2 {
            out.extend_from_slice(&(self.sequence.len() as u32).to_le_bytes());
        }
        let f32s =
            |out: &mut Vec<u8>, v: &[f32]| v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
        let u32s =
            |out: &mut Vec<u8>, v: &[u32]| v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
        f32s(&mut out, &[self.bias]);
        f32s(&mut out, &self.factors);
        if let Some((factors, bias)) = &self.head {
            f32s(&mut out, &[*bias]);
            f32s(&mut out, factors);
        }
        u32s(&mut out, &self.seen);
        f32s(&mut out, &self.seen_values);
        u32s(&mut out, &self.recent);
        u32s(&mut out, &self.sequence);
        out
    }

    /// Decodes a record and checks it against `model`: the version, the exact length, finite
    /// values, the dimensions, the rating head's presence, and every item index. Never panics.
    pub fn decode(bytes: &[u8], model: &Model<'_>) -> Result<Self> {
        let mut r = Reader(bytes);
        if r.take::<4>()? != USER_RECORD_MAGIC {
            return Err(bad("it does not start with `ERUR`"));
        }
        let version = r.u16()?;
        if !(1..=USER_RECORD_VERSION).contains(&version) {
            return Err(bad(format!(
                "unsupported user record version {version} (this build reads {USER_RECORD_VERSION})"
            )));
        }
        let flags = r.u16()?;
        if flags & !FLAG_HEAD != 0 {
            return Err(bad(format!("unknown flags {flags:#06x}")));
        }
        let (dim, head_dim) = (usize::from(r.u16()?), usize::from(r.u16()?));
        let (seen, recent) = (r.u32()? as usize, r.u32()? as usize);
        let sequence = if version >= 2 { r.u32()? as usize } else { 0 };
        let has_head = flags & FLAG_HEAD != 0;
        if has_head == (head_dim == 0) {
            return Err(bad("the head flag and the head dimension disagree"));
        }
        let header = if version >= 2 { HEADER_V2 } else { HEADER };
        let want = [1 + dim, if has_head { 1 + head_dim } else { 0 }, seen, seen, recent, sequence]
            .iter()
            .try_fold(0usize, |acc, &n| acc.checked_add(n.checked_mul(4)?))
            .and_then(|body| body.checked_add(header));
        if want != Some(bytes.len()) {
            return Err(bad(format!("the record has {} bytes; its header says {want:?}", bytes.len())));
        }
        let bias = r.f32s("bias", 1)?[0];
        let factors = r.f32s("factors", dim)?;
        let head = if has_head {
            let bias = r.f32s("head bias", 1)?[0];
            Some((r.f32s("head factors", head_dim)?, bias))
        } else {
            None
        };
        let record = Self {
            factors,
            bias,
            head,
            seen: r.u32s(seen)?,
            seen_values: r.f32s("seen values", seen)?,
            recent: r.u32s(recent)?,
            sequence: r.u32s(sequence)?,
        };
        record.check(model)?;
        Ok(record)
    }

    /// Whether this record fits `model`.
    pub(crate) fn check(&self, model: &Model<'_>) -> Result<()> {
        if self.factors.len() != model.dim {
            return Err(bad(format!(
                "dimension {} does not match the model's {}",
                self.factors.len(),
                model.dim
            )));
        }
        match (&self.head, &model.rating_head) {
            (None, None) => {}
            (Some((f, _)), Some(h)) if f.len() == h.dim => {}
            (Some((f, _)), Some(h)) => {
                return Err(bad(format!("head dimension {} does not match the model's {}", f.len(), h.dim)));
            }
            (Some(_), None) => return Err(bad("it has a rating head part; the model has no rating head")),
            (None, Some(_)) => return Err(bad("it lacks the rating head part the model needs")),
        }
        let items = model.num_items();
        if self.seen.windows(2).any(|w| w[0] >= w[1]) {
            return Err(bad("seen items are not strictly increasing"));
        }
        if self.seen.len() != self.seen_values.len() {
            return Err(bad("seen items and their values differ in length"));
        }
        if let Some(i) =
            self.seen.iter().chain(&self.recent).chain(&self.sequence).find(|&&i| i as usize >= items)
        {
            return Err(bad(format!("item index {i} is out of range (< {items})")));
        }
        let window = model.recency.as_ref().map_or(0, |r| r.stored_window);
        if self.recent.len() > window {
            return Err(bad(format!("{} latest items; the model keeps at most {window}", self.recent.len())));
        }
        let max_len = model.sequence.as_ref().map_or(0, |s| s.info.max_len);
        if self.sequence.len() > max_len {
            return Err(bad(format!(
                "a sequence history of {} items; the model's network reads at most {max_len}",
                self.sequence.len()
            )));
        }
        Ok(())
    }

    /// The trained factor vector.
    pub fn factors(&self) -> &[f32] {
        &self.factors
    }

    /// The user bias (0 for ranking models).
    pub fn bias(&self) -> f32 {
        self.bias
    }

    /// Seen items: dense item indices (strictly increasing) and their values.
    pub fn seen_items(&self) -> impl Iterator<Item = (usize, f32)> + '_ {
        self.seen.iter().zip(&self.seen_values).map(|(&i, &v)| (i as usize, v))
    }

    /// The latest items, newest first (empty when the model has no recency component).
    pub fn recent_items(&self) -> &[u32] {
        &self.recent
    }
}

impl<'a> Model<'a> {
    /// The record of a user in this artifact (dense index), for moving them out of it.
    pub fn user_record(&self, user: usize) -> Option<UserRecord> {
        let head = match &self.rating_head {
            None => None,
            Some(h) => Some(h.user(user).map(|(f, b)| (f.to_vec(), b))?),
        };
        let range = self.seen_range(user);
        Some(UserRecord {
            factors: self.user_factors(user)?.to_vec(),
            bias: *self.user_bias.get(user)?,
            head,
            seen: self.seen_indices.get(range.clone())?.to_vec(),
            seen_values: self.seen_values.get(range)?.to_vec(),
            recent: self.recent_items(user).to_vec(),
            sequence: self.sequence_history(user).to_vec(),
        })
    }

    /// [`Model::explain`] for a user kept outside the artifact, from their record.
    pub fn explain_record(&self, record: &UserRecord, items: &[usize]) -> Result<Vec<Vec<Because<'a>>>> {
        record.check(self)?;
        if let Some(&bad) = items.iter().find(|&&i| i >= self.num_items()) {
            return Err(Error::InvalidArgument(format!("item index {bad} is out of range")));
        }
        let (values, newest_first) = record.history();
        self.explain_history(values, newest_first, items)
    }

    /// Top-N items for a user whose record is kept outside the artifact: the same answer
    /// [`Model::recommend`] gives for that user when they are in it (same filters, same index
    /// search, same scores and predicted ratings).
    pub fn recommend_record(
        &self,
        record: &UserRecord,
        opts: &RecommendOptions,
    ) -> Result<Recommendations<'a>> {
        Self::check_page(opts)?;
        record.check(self)?;
        let head = record.head.as_ref().map(|(f, b)| (f.as_slice(), *b));
        self.recommend_known(
            &record.factors,
            record.bias,
            &record.recent,
            &record.seen,
            For::Record(head),
            opts,
        )
    }

    /// Top-N items for a user whose record is kept outside the artifact, given `interactions`
    /// they just made: the same answer [`Model::recommend_session`] gives for that user when
    /// they are in the artifact.
    pub fn recommend_record_session<S: AsRef<str>>(
        &self,
        record: &UserRecord,
        interactions: &[(S, f32)],
        opts: &RecommendOptions,
    ) -> Result<Recommendations<'a>> {
        Self::check_page(opts)?;
        record.check(self)?;
        let known = Known {
            factors: &record.factors,
            bias: record.bias,
            seen: &record.seen,
            seen_values: &record.seen_values,
            recent: &record.recent,
            sequence: &record.sequence,
            whom: For::Record(record.head.as_ref().map(|(f, b)| (f.as_slice(), *b))),
        };
        self.session_known(known, interactions, opts)
    }
}
