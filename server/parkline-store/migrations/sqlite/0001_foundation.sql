-- Times are milliseconds since the Unix epoch (UTC); flags are 0/1 integers. Both backends share this shape.

CREATE TABLE facilities (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    layout      TEXT NOT NULL,          -- the LayoutFile as JSON: the source of truth for the floor plan
    created_ms  INTEGER NOT NULL
);

-- What is known of each spot: the sensor's belief and staff's out-of-service flag.
CREATE TABLE spot_status (
    facility_id       TEXT NOT NULL REFERENCES facilities(id),
    spot              TEXT NOT NULL,
    occupied          INTEGER NOT NULL DEFAULT 0,
    out_of_service    INTEGER NOT NULL DEFAULT 0,
    last_reading_ms   INTEGER,
    last_change_ms    INTEGER,
    pending_occupied  INTEGER,
    pending_since_ms  INTEGER,
    PRIMARY KEY (facility_id, spot)
);

-- Every applied change of a spot's state, append-only.
CREATE TABLE occupancy_history (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    facility_id  TEXT NOT NULL,
    spot         TEXT NOT NULL,
    state        TEXT NOT NULL,
    at_ms        INTEGER NOT NULL,
    source       TEXT NOT NULL,
    confidence   REAL
);
CREATE INDEX occupancy_history_facility_at ON occupancy_history (facility_id, at_ms);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL,
    created_ms     INTEGER NOT NULL
);

-- Single-use refresh tokens; only their SHA-256 is stored.
CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    expires_ms  INTEGER NOT NULL,
    used_ms     INTEGER
);

CREATE TABLE devices (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    facility_id  TEXT REFERENCES facilities(id),
    token_hash   TEXT NOT NULL UNIQUE,
    created_ms   INTEGER NOT NULL,
    revoked_ms   INTEGER
);

CREATE TABLE api_keys (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    name                 TEXT NOT NULL,
    key_hash             TEXT NOT NULL UNIQUE,
    requests_per_minute  INTEGER NOT NULL,
    created_ms           INTEGER NOT NULL,
    revoked_ms           INTEGER
);
