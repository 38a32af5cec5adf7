-- Traceable answers. Every answer of /recommend, GET /recommend/{id} and similar carries a
-- recommendation_id; the queue consumer records it here as one impression (idempotent by the
-- ID). A click, cart or purchase event may name the answer it came from (events.recommendation_id)
-- and the item's rank in it (events.position). Times are Unix milliseconds.
ALTER TABLE events ADD COLUMN recommendation_id TEXT;
ALTER TABLE events ADD COLUMN position INTEGER;
CREATE INDEX events_recommendation ON events (recommendation_id) WHERE recommendation_id IS NOT NULL;

CREATE TABLE impressions (
  recommendation_id TEXT PRIMARY KEY,
  user_id TEXT,
  model_version TEXT NOT NULL,
  variant TEXT NOT NULL CHECK (variant IN ('current', 'canary')),
  route TEXT NOT NULL,
  served_at INTEGER NOT NULL
);
CREATE INDEX impressions_served ON impressions (served_at);
