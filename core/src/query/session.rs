//! Session-aware queries: a known user plus what they just did, with no retraining.

use std::borrow::Cow;

use crate::Result;
use crate::model::Model;
use crate::query::{For, RecommendOptions, Recommendations, Source};

/// A known user's stored part, wherever it is kept: in the artifact, or in a
/// [`crate::UserRecord`] outside it.
pub(crate) struct Known<'k> {
    /// Trained factors (for a sequence model, the state after their history).
    pub factors: &'k [f32],
    /// Trained bias.
    pub bias: f32,
    /// Seen items (sorted, unique) and their values.
    pub seen: &'k [u32],
    pub seen_values: &'k [f32],
    /// Latest items for the recency component, newest first.
    pub recent: &'k [u32],
    /// The sequence network's history, oldest first.
    pub sequence: &'k [u32],
    /// Whose rating-head part scores them.
    pub whom: For<'k>,
}

impl<'a> Model<'a> {
    /// Top-N items for `user_id` given `interactions` they just made (listed in the order they
    /// happened: the last is the newest), with no retraining.
    ///
    /// - A known user of a model with a sequence part is scored with the sequence network's
    ///   state over their stored history followed by the interactions' known items (the latest
    ///   `max_len` of them all).
    /// - Otherwise a known user is scored with their trained factors shifted by the
    ///   interactions: through the recency component when the model has one (the interactions count as the newest
    ///   history), otherwise by adding to their trained factors the shift that the new
    ///   interactions make to a fold-in of their stored ones. The
    ///   interactions' items are excluded like seen items (with `exclude_rated`).
    /// - An unknown user is treated as an anonymous visitor
    ///   ([`Model::recommend_for_interactions`]).
    /// - With no interactions this is [`Model::recommend`].
    pub fn recommend_session<S: AsRef<str>>(
        &self,
        user_id: &str,
        interactions: &[(S, f32)],
        opts: &RecommendOptions,
    ) -> Result<Recommendations<'a>> {
        Self::check_page(opts)?;
        let Some(user) = self.user_index(user_id) else {
            if interactions.is_empty() {
                return self.recommend(user_id, opts);
            }
            return self.recommend_for_interactions(interactions, opts);
        };
        let range = self.seen_range(user);
        let known = Known {
            factors: self.user_factors(user).unwrap_or(&[]),
            bias: self.user_bias.get(user).copied().unwrap_or(0.0),
            seen: &self.seen_indices[range.clone()],
            seen_values: &self.seen_values[range],
            recent: self.recent_items(user),
            sequence: self.sequence_history(user),
            whom: For::User(user),
        };
        self.session_known(known, interactions, opts)
    }

    /// The session path for a known user, wherever their part is kept.
    pub(crate) fn session_known<S: AsRef<str>>(
        &self,
        user: Known<'_>,
        interactions: &[(S, f32)],
        opts: &RecommendOptions,
    ) -> Result<Recommendations<'a>> {
        let (known, unknown_items) = self.resolve_interactions(interactions)?;
        if known.is_empty() {
            let mut recs =
                self.recommend_known(user.factors, user.bias, user.recent, user.seen, user.whom, opts)?;
            recs.unknown_items = unknown_items.into_iter().chain(recs.unknown_items).collect();
            return Ok(recs);
        }
        let mut excluded: Vec<u32> =
            user.seen.iter().copied().chain(known.iter().map(|&(i, _)| i as u32)).collect();
        excluded.sort_unstable();
        excluded.dedup();
        let filter = self.filter(opts, &excluded)?;
        let session: Vec<usize> = known.iter().map(|&(i, _)| i).collect();
        let (factors, bias): (Cow<'_, [f32]>, f32) = if let Some(state) =
            self.state_after(user.sequence, &session)
        {
            (Cow::Owned(state?), user.bias)
        } else if self.recency.as_ref().is_some_and(|r| r.info.weight > 0.0) {
            let session: Vec<usize> = known.iter().rev().map(|&(i, _)| i).collect();
            (self.vector_with_history(user.factors, user.recent, &session), user.bias)
        } else {
            // The shift the new interactions make to a fold-in of the stored ones, added to
            // the trained factors: with none the list is the trained one, and a few clicks
            // nudge it rather than replace it (a fresh fold-in need not agree with how the
            // factors were trained).
            let seen: Vec<(usize, f64)> =
                user.seen.iter().zip(user.seen_values).map(|(&i, &v)| (i as usize, f64::from(v))).collect();
            let mut all = seen.clone();
            all.extend_from_slice(&known);
            let (before, before_bias) =
                if seen.is_empty() { (vec![0.0; self.dim], 0.0) } else { self.fold_in_known(&seen)? };
            let (after, after_bias) = self.fold_in_known(&all)?;
            let shifted: Vec<f32> =
                user.factors.iter().zip(after.iter().zip(&before)).map(|(p, (a, b))| p + (a - b)).collect();
            (Cow::Owned(shifted), user.bias + (after_bias - before_bias))
        };
        let picked = self.rank(&factors, bias, &filter)?;
        Ok(Recommendations {
            items: self.scored(picked, user.whom),
            source: Source::Session,
            reason: None,
            unknown_items: unknown_items.into_iter().chain(filter.unknown).collect(),
        })
    }
}
