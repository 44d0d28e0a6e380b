-- What attendants did by hand at a gate, and why: opening the barrier, voiding a session, correcting a
-- plate. Append-only.
CREATE TABLE gate_overrides (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    gate_id      TEXT NOT NULL,
    facility_id  TEXT NOT NULL,
    action       TEXT NOT NULL,
    reason       TEXT NOT NULL,
    session_id   TEXT,
    plate_sealed TEXT,               -- encrypted (vault.rs)
    actor_id     INTEGER,
    at_ms        INTEGER NOT NULL
);
CREATE INDEX gate_overrides_facility_at ON gate_overrides (facility_id, at_ms);
