-- The event log written by the EVENTS queue consumer (worker/src/events/d1.rs) and read by
-- GET /admin/events. `seq` is the paging cursor (AUTOINCREMENT: never reused, so a cursor never
-- skips a row); `event_id` is the idempotency key, and its UNIQUE index is the one the inserts'
-- ON CONFLICT needs. Times: `timestamp` Unix seconds (when it happened), `received_at` and
-- `stored_at` Unix milliseconds (when the Worker accepted it, when it reached D1).
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL,
  item_id TEXT NOT NULL,
  behavior TEXT CHECK (behavior IN ('view', 'click', 'cart', 'purchase')),
  rating REAL CHECK (rating > 0 AND rating <= 5),
  timestamp INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  stored_at INTEGER NOT NULL,
  CHECK (behavior IS NOT NULL OR rating IS NOT NULL)
);
