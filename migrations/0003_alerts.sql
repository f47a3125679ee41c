-- Live WvW alerts: subscriptions, the last objective state seen per match, and the derived events.
-- Timestamps are ISO-8601 UTC text (bot.storage.database.db_time).

CREATE TABLE alert_subscriptions (
    id               INTEGER PRIMARY KEY,
    guild_id         INTEGER NOT NULL,
    channel_id       INTEGER NOT NULL,
    team_id          INTEGER NOT NULL,
    -- ours: only objectives our team holds, takes or loses. match: every objective of the match.
    scope            TEXT    NOT NULL DEFAULT 'ours' CHECK (scope IN ('ours', 'match')),
    -- Comma-separated objective types (Camp,Tower,Keep,Castle) and map types (Center,RedHome,...).
    objective_types  TEXT    NOT NULL,
    map_types        TEXT    NOT NULL,
    -- Mentioned when our keep or castle is lost (allowed_mentions limited to this role).
    role_id          INTEGER,
    reminders        INTEGER NOT NULL DEFAULT 1 CHECK (reminders IN (0, 1)),
    -- The last alert_events.id this subscription has dealt with (delivered or filtered out).
    -- NULL until the first poll after creation, which sets it to the newest event (the baseline).
    last_event_id    INTEGER,
    last_delivered_at TEXT,
    -- Set when the "GW2 API not answering" note was sent for the current outage.
    paused_since     TEXT,
    enabled          INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    last_error       TEXT,
    disabled_at      TEXT,
    created_by       INTEGER,
    created_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (channel_id, team_id)
);

CREATE INDEX alert_subscriptions_guild ON alert_subscriptions (guild_id);

-- The last objective state seen per match (JSON: services.alerts.MatchSnapshot): what the next
-- poll diffs against, also after a restart.
CREATE TABLE alert_match_state (
    match_id   TEXT PRIMARY KEY,
    start_time TEXT NOT NULL,
    snapshot   TEXT NOT NULL,
    seen_at    TEXT NOT NULL
);

-- Events derived from the diffs (JSON: services.alerts.AlertEvent), written in the same
-- transaction as the snapshot they came from. Ids only grow, so one number per subscription says
-- what it has already had.
CREATE TABLE alert_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    match_id   TEXT NOT NULL,
    start_time TEXT NOT NULL,
    event      TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE INDEX alert_events_match ON alert_events (match_id, start_time, id);
