-- PostgreSQL version of migrations/0005_write_safety.sql.

CREATE TABLE health_probe (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    probed_at TEXT NOT NULL
);

ALTER TABLE update_subscriptions ADD COLUMN pending_nonce TEXT;
ALTER TABLE update_subscriptions ADD COLUMN pending_since TEXT;
