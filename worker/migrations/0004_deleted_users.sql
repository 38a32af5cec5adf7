-- Deleted users (DELETE /admin/users/{id}, worker/src/erasure/). One row per user: deleting a
-- user again replaces the row with a new `seq`, so a reader that pages by `seq` (GET
-- /admin/deletions, `trainer ingest`) sees every deletion that is still the user's latest.
-- `deleted_at` is Unix milliseconds: the user's events that happened (`timestamp`) at or
-- before it are erased, and the queue consumer drops such events, and any the Worker had
-- accepted by then, should they arrive later. Each
-- isolate reads the rows after the last `seq` it has, at most every
-- AVAILABILITY_REFRESH_SECONDS, and serves these users as unknown from models trained
-- before the deletion reached their data.
CREATE TABLE deleted_users (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id TEXT NOT NULL UNIQUE,
  deleted_at INTEGER NOT NULL
);

-- A deletion removes the user's rows from these tables: by index, not by a scan.
CREATE INDEX events_user ON events (user_id);
CREATE INDEX impressions_user ON impressions (user_id) WHERE user_id IS NOT NULL;
