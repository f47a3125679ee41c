-- Verified roles: per-server rules "role <- condition", options, and which linked users the bot
-- knows to be members of which server (no members intent needed to sync them).

CREATE TABLE role_rules (
    id               INTEGER PRIMARY KEY,
    guild_id         INTEGER NOT NULL,
    role_id          INTEGER NOT NULL,
    -- services.roles.ConditionKind: verified | wvw_guild | guild_member | wvw_team
    kind             TEXT    NOT NULL,
    -- GW2 guild id or team id ('' for verified)
    value            TEXT    NOT NULL DEFAULT '',
    -- what /roles show prints for the value (guild name [tag], team name)
    label            TEXT    NOT NULL DEFAULT '',
    requires_role_id INTEGER,
    created_by       INTEGER NOT NULL,
    created_at       TEXT    NOT NULL,
    UNIQUE (guild_id, role_id, kind, value)
);
CREATE INDEX role_rules_guild ON role_rules (guild_id);

CREATE TABLE role_options (
    guild_id        INTEGER PRIMARY KEY,
    nickname_suffix INTEGER NOT NULL DEFAULT 0,
    strict          INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE role_members (
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    seen_at  TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
CREATE INDEX role_members_user ON role_members (user_id);
