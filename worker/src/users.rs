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

pub fn get(ready: Ready<'_>, query: &[(String, String)]) -> Result<Reply, ApiError> {
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
    let user_ids: Vec<&str> = model.user_ids(start, limit).collect();
    let more = start.saturating_add(user_ids.len()) < model.num_users();
    let next_cursor = if more { user_ids.last().copied() } else { None };
    let note = more.then(|| {
        format!(
            "showing {} of {} users; pass next_cursor as cursor for more",
            user_ids.len(),
            model.num_users()
        )
    });
    Reply::json(&Users { total_users: model.num_users(), user_ids, next_cursor, note })
}
