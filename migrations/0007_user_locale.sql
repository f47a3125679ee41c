-- The Discord language a key's owner last used with the bot (a command or /key add), so that
-- messages sent outside an interaction (the invalid-key DM, DM replies) speak it.
-- NULL until seen: English. Kept on the user's keys, so it is forgotten with them.
ALTER TABLE linked_keys ADD COLUMN locale TEXT;
