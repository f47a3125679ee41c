-- The tables every feature stands on: guild settings, linked GW2 API keys, match-update posts.
-- Timestamps are ISO-8601 UTC text; Discord snowflakes are INTEGER.

CREATE TABLE guild_settings (
    guild_id             INTEGER PRIMARY KEY,
    default_team_id      INTEGER,
    language             TEXT    NOT NULL DEFAULT 'en',
    key_ownership_policy TEXT    NOT NULL DEFAULT 'optional'
                                 CHECK (key_ownership_policy IN ('optional', 'required')),
    leak_guard_enabled   INTEGER NOT NULL DEFAULT 1 CHECK (leak_guard_enabled IN (0, 1)),
    -- Set when the bot leaves the guild; settings are deleted after a grace period.
    left_at              TEXT,
    created_at           TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at           TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE linked_keys (
    id                 INTEGER PRIMARY KEY,
    user_id            INTEGER NOT NULL,
    account_id         TEXT    NOT NULL,
    account_name       TEXT    NOT NULL,
    key_name           TEXT    NOT NULL DEFAULT '',
    -- Fernet ciphertext; the plaintext key is never stored.
    encrypted_key      BLOB    NOT NULL,
    -- A short hash of the key: cache key id and duplicate detection, never the key itself.
    key_fingerprint    TEXT    NOT NULL,
    key_type           TEXT    NOT NULL DEFAULT 'APIKey',
    permissions        TEXT    NOT NULL DEFAULT '[]',  -- JSON array of scope names
    ownership_verified INTEGER NOT NULL DEFAULT 0 CHECK (ownership_verified IN (0, 1)),
    is_active          INTEGER NOT NULL DEFAULT 0 CHECK (is_active IN (0, 1)),
    state              TEXT    NOT NULL DEFAULT 'valid' CHECK (state IN ('valid', 'invalid')),
    failure_count      INTEGER NOT NULL DEFAULT 0,
    first_failure_at   TEXT,
    last_failure_at    TEXT,
    invalid_notified   INTEGER NOT NULL DEFAULT 0 CHECK (invalid_notified IN (0, 1)),
    added_at           TEXT    NOT NULL,
    validated_at       TEXT    NOT NULL,
    UNIQUE (user_id, account_id)
);

-- At most one active account per Discord user.
CREATE UNIQUE INDEX linked_keys_one_active ON linked_keys (user_id) WHERE is_active = 1;

CREATE TABLE update_subscriptions (
    id                INTEGER PRIMARY KEY,
    guild_id          INTEGER NOT NULL,
    channel_id        INTEGER NOT NULL,
    team_id           INTEGER NOT NULL,
    interval_minutes  INTEGER NOT NULL DEFAULT 15 CHECK (interval_minutes BETWEEN 5 AND 120),
    mode              TEXT    NOT NULL DEFAULT 'edit' CHECK (mode IN ('post', 'edit')),
    last_message_id   INTEGER,
    last_match_id     TEXT,
    last_posted_hash  TEXT,
    last_posted_at    TEXT,
    next_due_at       TEXT,
    enabled           INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    last_error        TEXT,
    created_by        INTEGER,
    created_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (channel_id, team_id)
);

CREATE INDEX update_subscriptions_due ON update_subscriptions (enabled, next_due_at);
CREATE INDEX update_subscriptions_guild ON update_subscriptions (guild_id);
