-- Item availability, written by PUT /admin/items (worker/src/catalogue/) and read by every
-- isolate at most every AVAILABILITY_REFRESH_SECONDS. An item without a row is available.
-- `available` 0 switches it off; `until` (Unix milliseconds) ends an available item's
-- availability at that time. `version` is the state version that last changed the row.
CREATE TABLE items (
  item_id TEXT PRIMARY KEY,
  available INTEGER NOT NULL CHECK (available IN (0, 1)),
  until INTEGER,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL
);
-- The rows an isolate reads: those that can make an item unavailable.
CREATE INDEX items_restricted ON items (item_id) WHERE available = 0 OR until IS NOT NULL;

-- One row: the state's version, raised by each PUT that changes a row, and when.
CREATE TABLE item_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
INSERT INTO item_state (id, version, updated_at) VALUES (1, 0, 0);
