-- Scheduled match-update posts: week-reset detection, one outage note, why a channel was stopped,
-- and the last standings of each match (posted as the week's result after the reset).

-- Start time of the match last posted: with last_match_id it tells a new week from the old one.
ALTER TABLE update_subscriptions ADD COLUMN last_match_start TEXT;
-- Set when the "data stale since" note was sent for the current GW2 API outage; cleared on
-- recovery, so an outage yields one note per channel, not one per cycle.
ALTER TABLE update_subscriptions ADD COLUMN stale_since TEXT;
-- When the subscription was stopped (enabled = 0) and last_error says why.
ALTER TABLE update_subscriptions ADD COLUMN disabled_at TEXT;

CREATE TABLE update_week_results (
    match_id   TEXT NOT NULL,
    start_time TEXT NOT NULL,
    -- JSON: services.updates.WeekResult (standings best first: VP, score, kills, deaths).
    result     TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (match_id, start_time)
);
