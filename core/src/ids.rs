//! String tables stored as UTF-8 bytes plus offsets, sorted for binary-search lookup.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::{Error, Result};

/// A validated table of strings: entry `i` is `text[offsets[i]..offsets[i + 1]]`.
///
/// Entries are strictly increasing in byte order, so lookups are binary searches and the
/// table needs no hash map (and no allocation) after loading. The UTF-8 is validated once, as
/// a whole, and every offset is checked to be a character boundary, so reading an entry
/// back never re-validates it.
#[derive(Debug, Clone)]
pub(crate) struct StrTable<'a> {
    text: &'a str,
    offsets: Cow<'a, [u32]>,
}

impl<'a> StrTable<'a> {
    /// Validates offsets, UTF-8 and strict ordering (which also rules out duplicates).
    pub(crate) fn new(name: &'static str, bytes: &'a [u8], offsets: Cow<'a, [u32]>) -> Result<Self> {
        let Some((&first, _)) = offsets.split_first() else {
            return Err(Error::Invalid(format!("`{name}` offsets are empty")));
        };
        if first != 0 {
            return Err(Error::Invalid(format!("`{name}` offsets must start at 0")));
        }
        let last = offsets.last().copied().unwrap_or(0) as usize;
        if last != bytes.len() {
            return Err(Error::Invalid(format!(
                "`{name}` offsets end at {last} but the string data has {} bytes",
                bytes.len()
            )));
        }
        let text = std::str::from_utf8(bytes).map_err(|e| {
            Error::Invalid(format!("`{name}` is not valid UTF-8 (at byte {})", e.valid_up_to()))
        })?;
        let mut previous: Option<&[u8]> = None;
        for (i, w) in offsets.windows(2).enumerate() {
            let (start, end) = (w[0] as usize, w[1] as usize);
            let Some(entry) = text.get(start..end) else {
                return Err(Error::Invalid(format!(
                    "`{name}` entry {i} is not valid UTF-8 (its offsets decrease or split a character)"
                )));
            };
            let entry = entry.as_bytes();
            if entry.is_empty() {
                return Err(Error::Invalid(format!("`{name}` entry {i} is empty")));
            }
            if let Some(prev) = previous {
                match prev.cmp(entry) {
                    Ordering::Less => {}
                    Ordering::Equal => {
                        return Err(Error::Invalid(format!(
                            "`{name}` has a duplicate entry `{}`",
                            String::from_utf8_lossy(entry)
                        )));
                    }
                    Ordering::Greater => {
                        return Err(Error::Invalid(format!("`{name}` is not sorted at entry {i}")));
                    }
                }
            }
            previous = Some(entry);
        }
        Ok(Self { text, offsets })
    }

    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Entry `i`; out-of-range indices give `""` (callers only pass validated indices).
    pub(crate) fn get(&self, i: usize) -> &'a str {
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&start), Some(&end)) => self.text.get(start as usize..end as usize).unwrap_or(""),
            _ => "",
        }
    }

    fn raw(&self, i: usize) -> &'a [u8] {
        self.get(i).as_bytes()
    }

    /// Index of `key`, if present.
    pub(crate) fn find(&self, key: &str) -> Option<usize> {
        self.search(key).ok()
    }

    /// Binary search: `Ok(i)` if found, `Err(i)` with the insertion point otherwise.
    pub(crate) fn search(&self, key: &str) -> std::result::Result<usize, usize> {
        let key = key.as_bytes();
        let (mut lo, mut hi) = (0usize, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.raw(mid).cmp(key) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }
}

/// Encodes sorted, unique strings as (bytes, offsets).
pub(crate) fn encode<S: AsRef<str>>(sorted: &[S]) -> Result<(Vec<u8>, Vec<u32>)> {
    let mut bytes = Vec::new();
    let mut offsets = Vec::with_capacity(sorted.len() + 1);
    offsets.push(0u32);
    for s in sorted {
        bytes.extend_from_slice(s.as_ref().as_bytes());
        let end = u32::try_from(bytes.len())
            .map_err(|_| Error::InvalidArgument("string table exceeds 4 GiB".into()))?;
        offsets.push(end);
    }
    Ok((bytes, offsets))
}
