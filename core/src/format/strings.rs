//! String tables stored as UTF-8 bytes plus offsets, sorted for binary-search lookup.

use std::borrow::Cow;
use std::cmp::Ordering;

use safetensors::{Dtype, SafeTensors};

use super::read::{Marks, dtype_name, len_1d, required, tensor, typed};
use crate::{Error, Result};

/// A validated table of strings: entry `i` is `text[offsets[i]..offsets[i + 1]]`.
///
/// Entries are strictly increasing in byte order, or, with an `order` permutation, strictly
/// increasing when read in that order (entry `order[0]` first), so lookups are binary searches
/// and the table needs no hash map (and no allocation) after loading. The UTF-8 is validated once, as
/// a whole, and every offset is checked to be a character boundary, so reading an entry
/// back never re-validates it.
#[derive(Debug, Clone)]
pub(crate) struct StrTable<'a> {
    text: &'a str,
    offsets: Cow<'a, [u32]>,
    /// Entries in byte order, when the entries themselves are not (format v3 item IDs).
    order: Option<Cow<'a, [u32]>>,
}

impl<'a> StrTable<'a> {
    /// Validates offsets, UTF-8 and strict ordering (which also rules out duplicates): of the
    /// entries themselves, or of the entries read in `order` (which must be a permutation).
    pub(crate) fn new(
        name: &'static str,
        bytes: &'a [u8],
        offsets: Cow<'a, [u32]>,
        order: Option<Cow<'a, [u32]>>,
    ) -> Result<Self> {
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
        let n = offsets.len() - 1;
        if let Some(order) = &order
            && order.len() != n
        {
            return Err(Error::Invalid(format!("`{name}` order has {} entries, expected {n}", order.len())));
        }
        let mut previous: Option<&[u8]> = None;
        for (k, w) in offsets.windows(2).enumerate() {
            let Some(entry) = text.get(w[0] as usize..w[1] as usize) else {
                return Err(Error::Invalid(format!(
                    "`{name}` entry {k} is not valid UTF-8 (its offsets decrease or split a character)"
                )));
            };
            if entry.is_empty() {
                return Err(Error::Invalid(format!("`{name}` entry {k} is empty")));
            }
        }
        let mut marks = Marks::new(if order.is_some() { n } else { 0 });
        for k in 0..n {
            let i = match &order {
                None => k,
                Some(order) => {
                    let i = order[k] as usize;
                    if !marks.mark(i) {
                        return Err(Error::Invalid(format!("`{name}` order is not a permutation (at {k})")));
                    }
                    i
                }
            };
            let entry = text.get(offsets[i] as usize..offsets[i + 1] as usize).unwrap_or("").as_bytes();
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
        Ok(Self { text, offsets, order })
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

    /// The `k`-th entry in byte order.
    fn sorted(&self, k: usize) -> &'a [u8] {
        let i = match &self.order {
            None => k,
            Some(order) => order.get(k).map_or(usize::MAX, |&i| i as usize),
        };
        self.get(i).as_bytes()
    }

    /// Index of `key`, if present.
    pub(crate) fn find(&self, key: &str) -> Option<usize> {
        let k = self.search(key).ok()?;
        match &self.order {
            None => Some(k),
            Some(order) => order.get(k).map(|&i| i as usize),
        }
    }

    /// Binary search in byte order: `Ok(k)` if found, `Err(k)` with the insertion point
    /// otherwise. Positions in byte order are indices only for a table without an `order`.
    pub(crate) fn search(&self, key: &str) -> std::result::Result<usize, usize> {
        let key = key.as_bytes();
        let (mut lo, mut hi) = (0usize, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.sorted(mid).cmp(key) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }
}

/// Reads the optional string table `bytes` + `offsets` (`n` entries, or as many as the offsets
/// give), validated as [`StrTable::new`] validates it; `None` when neither tensor is present.
pub(crate) fn str_table<'a>(
    st: &SafeTensors<'a>,
    bytes: &'static str,
    offsets: &'static str,
    n: Option<usize>,
    order: Option<Cow<'a, [u32]>>,
) -> Result<Option<StrTable<'a>>> {
    let Some(bytes_view) = tensor(st, bytes)? else {
        if tensor(st, offsets)?.is_some() {
            return Err(Error::MissingTensor(bytes));
        }
        return Ok(None);
    };
    if bytes_view.dtype() != Dtype::U8 {
        return Err(Error::Dtype { name: bytes, expected: "U8", got: dtype_name(bytes_view.dtype()) });
    }
    if bytes_view.shape().len() != 1 {
        return Err(Error::Shape {
            name: bytes,
            expected: vec![bytes_view.data().len()],
            got: bytes_view.shape().to_vec(),
        });
    }
    let count = match n {
        Some(n) => n,
        None => len_1d(st, offsets)?.checked_sub(1).ok_or(Error::Invalid(format!("`{offsets}` is empty")))?,
    };
    let offs = required(offsets, typed::<u32>(st, offsets, Dtype::U32, &[count + 1])?)?;
    StrTable::new(bytes, bytes_view.data(), offs, order).map(Some)
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
