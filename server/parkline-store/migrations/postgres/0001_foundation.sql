-- Times are milliseconds since the Unix epoch (UTC); flags are 0/1 integers. Both backends share this shape.

CREATE TABLE facilities (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    layout      TEXT NOT NULL,          -- the LayoutFile as JSON: the source of truth for the floor plan
    created_ms  BIGINT NOT NULL
);

-- What is known of each spot: the sensor's belief and staff's out-of-service flag.
CREATE TABLE spot_status (
    facility_id       TEXT NOT NULL REFERENCES facilities(id),
    spot              TEXT NOT NULL,
    occupied          BIGINT NOT NULL DEFAULT 0,
    out_of_service    BIGINT NOT NULL DEFAULT 0,
    last_reading_ms   BIGINT,
    last_change_ms    BIGINT,
    pending_occupied  BIGINT,
    pending_since_ms  BIGINT,
    PRIMARY KEY (facility_id, spot)
);

-- Every applied change of a spot's state, append-only.
CREATE TABLE occupancy_history (
    id           BIGSERIAL PRIMARY KEY,
    facility_id  TEXT NOT NULL,
    spot         TEXT NOT NULL,
    state        TEXT NOT NULL,
    at_ms        BIGINT NOT NULL,
    source       TEXT NOT NULL,
    confidence   DOUBLE PRECISION
);
CREATE INDEX occupancy_history_facility_at ON occupancy_history (facility_id, at_ms);

CREATE TABLE users (
    id             BIGSERIAL PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL,
    created_ms     BIGINT NOT NULL
);

-- Single-use refresh tokens; only their SHA-256 is stored.
CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id),
    expires_ms  BIGINT NOT NULL,
    used_ms     BIGINT
);

CREATE TABLE devices (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    facility_id  TEXT REFERENCES facilities(id),
    token_hash   TEXT NOT NULL UNIQUE,
    created_ms   BIGINT NOT NULL,
    revoked_ms   BIGINT
);

CREATE TABLE api_keys (
    id                   BIGSERIAL PRIMARY KEY,
    name                 TEXT NOT NULL,
    key_hash             TEXT NOT NULL UNIQUE,
    requests_per_minute  BIGINT NOT NULL,
    created_ms           BIGINT NOT NULL,
    revoked_ms           BIGINT
);
