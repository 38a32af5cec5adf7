//! `GET /users?limit=100&cursor=...`: the seed's `{"total_users","user_ids"}` plus a cursor.

use serde::Serialize;

use crate::error::ApiError;
use crate::http::{self, Reply};
use crate::store::Ready;

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

#[derive(Serialize)]
struct Users<'a> {
    total_users: usize,
    user_ids: Vec<&'a str>,
    /// The last ID of this page when more follow; pass it back as `cursor`.
    next_cursor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

/// A page of the model's users, leaving out those `hidden` says (deleted users, see
/// `erasure`); `num_hidden` is how many of the model's users that is.
pub fn get(
    ready: Ready<'_>,
    query: &[(String, String)],
    hidden: &dyn Fn(&str) -> bool,
    num_hidden: usize,
) -> Result<Reply, ApiError> {
    let limit = http::int_param(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)?;
    let model = ready.model;
    let start = match http::query_param(query, "cursor") {
        // An empty cursor is the first page, as the OpenAPI document allows it.
        None | Some("") => 0,
        Some(cursor) => {
            http::check_id("cursor", cursor)?;
            model.user_position_after(cursor)
        }
    };
    let mut listed = model.user_ids(start, usize::MAX).filter(|id| !hidden(id));
    let user_ids: Vec<&str> = listed.by_ref().take(limit).collect();
    let more = listed.next().is_some();
    let total_users = model.num_users().saturating_sub(num_hidden);
    let next_cursor = if more { user_ids.last().copied() } else { None };
    let note = more.then(|| {
        format!("showing {} of {total_users} users; pass next_cursor as cursor for more", user_ids.len())
    });
    Reply::json(&Users { total_users, user_ids, next_cursor, note })
}
