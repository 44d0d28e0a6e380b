-- Monthly and VIP permits (the Permit JSON of parkline-domain), and the pools that cap how many of a
-- group's vehicles may be inside at once.
CREATE TABLE permits (
    id          TEXT PRIMARY KEY,
    body        TEXT NOT NULL,      -- the permit JSON, encrypted (vault.rs): it lists plates
    created_ms  INTEGER NOT NULL,
    revoked_ms  INTEGER
);

CREATE TABLE permit_pools (
    id                TEXT PRIMARY KEY,
    concurrent_limit  INTEGER NOT NULL
);

ALTER TABLE sessions ADD COLUMN permit_id TEXT;
