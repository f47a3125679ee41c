-- PostgreSQL version of migrations/0006_leases.sql. Work claimed as leases so several processes never do the same thing twice.

-- A due update subscription is claimed by one process until lease_until (ISO-8601 UTC text);
-- a process that dies leaves it claimed only until then.
ALTER TABLE update_subscriptions ADD COLUMN lease_owner TEXT;
ALTER TABLE update_subscriptions ADD COLUMN lease_until TEXT;

-- Jobs that run in one process at a time (live alerts poll, key revalidation sweep).
CREATE TABLE job_leases (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    lease_until TEXT NOT NULL
);
