-- Writes that must not go missing or happen twice.

-- One row that the readiness probe rewrites: /readyz proves the database can still be written
-- (disk full, read-only file, a lock held elsewhere) with a write this small.
CREATE TABLE health_probe (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    probed_at TEXT NOT NULL
);

-- A scheduled post about to be sent: its deterministic nonce and when it was recorded. Set before
-- the message is created and cleared when its id is recorded, so after a crash in between the
-- bot knows a message may exist (Discord returns it for the same nonce, or it is found in the
-- channel) instead of posting it a second time.
ALTER TABLE update_subscriptions ADD COLUMN pending_nonce TEXT;
ALTER TABLE update_subscriptions ADD COLUMN pending_since TEXT;
