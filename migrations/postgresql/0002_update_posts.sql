-- PostgreSQL version of migrations/0002_update_posts.sql.

ALTER TABLE update_subscriptions ADD COLUMN last_match_start TEXT;
ALTER TABLE update_subscriptions ADD COLUMN stale_since TEXT;
ALTER TABLE update_subscriptions ADD COLUMN disabled_at TEXT;

CREATE TABLE update_week_results (
    match_id   TEXT NOT NULL,
    start_time TEXT NOT NULL,
    result     TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (match_id, start_time)
);
