//! A request's filter: what it leaves out (seen and excluded items, unavailable ones, other
//! categories, items outside the caller's candidates) and the page it wants.

use std::borrow::Cow;

use super::RecommendOptions;
use crate::model::Model;
use crate::query::unavailable::Unavailable;
use crate::{Error, Result};

pub(crate) struct Filter<'s> {
    /// Sorted, unique item indices to skip (borrowed from the seen list when nothing is added).
    pub(crate) excluded: Cow<'s, [u32]>,
    /// `allowed[c]` for category index `c`; `None` means every category.
    pub(crate) allowed: Option<Vec<bool>>,
    /// Items that may not be served now.
    pub(crate) unavailable: Option<&'s Unavailable>,
    /// The diversity cap: `(k, each item's category, number of categories)`.
    pub(crate) cap: Option<(usize, &'s [u32], usize)>,
    /// Sorted, unique candidate indices: only these may be picked.
    pub(crate) only: Option<Vec<u32>>,
    /// Candidate IDs the model does not know.
    pub(crate) unknown: Vec<String>,
    /// How many of the best to skip, and how many to pick in all (`offset + top_n`).
    pub(crate) offset: usize,
    pub(crate) wanted: usize,
}

impl<'a> Model<'a> {
    /// `seen` must be sorted and unique, as the loader guarantees for seen lists.
    pub(crate) fn filter<'s>(&'s self, opts: &'s RecommendOptions, seen: &'s [u32]) -> Result<Filter<'s>> {
        let seen = if opts.exclude_rated { seen } else { &[] };
        let excluded = if opts.exclude_items.is_empty() {
            Cow::Borrowed(seen)
        } else {
            let mut excluded = seen.to_vec();
            excluded.extend(opts.exclude_items.iter().filter_map(|id| self.item_index(id)).map(|i| i as u32));
            excluded.sort_unstable();
            excluded.dedup();
            Cow::Owned(excluded)
        };
        let allowed = match &opts.categories {
            None => None,
            Some(wanted) => {
                let Some(names) = &self.categories else {
                    return Err(Error::InvalidArgument("this model has no item categories".into()));
                };
                let mut allowed = vec![false; names.len()];
                for name in wanted {
                    let c = names.find(name).ok_or_else(|| Error::UnknownCategory { name: name.clone() })?;
                    allowed[c] = true;
                }
                Some(allowed)
            }
        };
        let cap = match opts.max_per_category {
            None => None,
            Some(k) => match (&self.categories, &self.item_category) {
                (Some(names), Some(cats)) => Some((k, &cats[..], names.len())),
                _ => return Err(Error::InvalidArgument("this model has no item categories to cap".into())),
            },
        };
        let (only, unknown) = match &opts.candidates {
            None => (None, Vec::new()),
            Some(ids) => {
                let mut only = Vec::with_capacity(ids.len());
                let mut unknown = Vec::new();
                for id in ids {
                    match self.item_index(id) {
                        Some(i) => only.push(i as u32),
                        None => unknown.push(id.clone()),
                    }
                }
                only.sort_unstable();
                only.dedup();
                (Some(only), unknown)
            }
        };
        Ok(Filter {
            excluded,
            allowed,
            unavailable: opts.unavailable.as_deref(),
            cap,
            only,
            unknown,
            offset: opts.offset,
            wanted: opts.offset + opts.top_n,
        })
    }

    /// Refuses a later page that starts past the end of the `len` items the search found (it
    /// looks for `offset + top_n`, so fewer means that is every item the query can give).
    pub(crate) fn check_end(filter: &Filter<'_>, len: usize) -> Result<()> {
        if filter.offset > 0 && len <= filter.offset {
            return Err(Error::OffsetPastEnd { offset: filter.offset, len });
        }
        Ok(())
    }

    pub(crate) fn allowed_category(&self, filter: &Filter<'_>, item: usize) -> bool {
        match (&filter.allowed, &self.item_category) {
            (Some(allowed), Some(cats)) => {
                cats.get(item).is_some_and(|&c| allowed.get(c as usize).copied().unwrap_or(false))
            }
            _ => true,
        }
    }

    /// Whether item `i` passes the filter (a binary search in the exclusions, then
    /// availability and categories).
    #[inline]
    pub(crate) fn passes(&self, filter: &Filter<'_>, i: u32) -> bool {
        filter.excluded.binary_search(&i).is_err()
            && !filter.unavailable.is_some_and(|u| u.contains(i as usize))
            && filter.only.as_ref().is_none_or(|only| only.binary_search(&i).is_ok())
            && self.allowed_category(filter, i as usize)
    }

    /// How many of the items `items` pass the filter.
    pub(crate) fn count_passing(&self, filter: &Filter<'_>, items: std::ops::Range<usize>) -> usize {
        if filter.allowed.is_none()
            && filter.only.is_none()
            && filter.unavailable.is_none_or(|u| u.is_empty())
        {
            let below = |end: usize| filter.excluded.partition_point(|&e| (e as usize) < end);
            return items.len() - (below(items.end) - below(items.start));
        }
        items.filter(|&i| self.passes(filter, i as u32)).count()
    }
}
