//! The trainer's side of the live loop (events in, models out): pulling the Worker's stored
//! events into the interactions table (`trainer ingest`) and publishing models to it
//! (`trainer publish`), and item availability out to it (`trainer items`).
//!
//! - [`event`]: a stored event and its mapping to an interactions row;
//! - [`page`]: one NDJSON page of `GET /admin/events`, parsed and checked;
//! - `schema`: the tables ingest writes, created or migrated;
//! - [`store`]: pages into MySQL, idempotent by `event_id`, with the resume cursor;
//! - [`ingest`]: the pipeline of `trainer ingest`: pages fetched, written, then deletions;
//! - [`erase`]: the Worker's user deletions applied to the same table, with their own cursor;
//! - [`client`]: the blocking HTTP client for the Worker's admin routes;
//! - [`items`]: item availability from the shop's items table or a CSV, pushed to the Worker
//!   (`trainer items`);
//! - [`metrics`]: online metrics per variant from the Worker (`trainer metrics`, and
//!   `trainer publish --promote`'s comparison).

pub mod client;
pub mod erase;
pub mod event;
pub mod ingest;
pub mod items;
pub mod metrics;
pub mod page;
mod schema;
pub mod store;
