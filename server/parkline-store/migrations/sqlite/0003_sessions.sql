-- Parking sessions and the gate events that open and close them.

ALTER TABLE spot_status ADD COLUMN held INTEGER NOT NULL DEFAULT 0;

CREATE TABLE sessions (
    id                  TEXT PRIMARY KEY,
    facility_id         TEXT NOT NULL REFERENCES facilities(id),
    ticket              TEXT NOT NULL UNIQUE,
    plate_sealed        TEXT,                -- normalised, encrypted (vault.rs); NULL for a manual ticket
    plate_index         TEXT,                -- its blind index, for lookups and the constraint below
    vehicle_class       TEXT NOT NULL,
    electric            INTEGER NOT NULL,
    spot                TEXT,
    entry_gate          TEXT NOT NULL,
    entry_ms            INTEGER NOT NULL,
    occupancy_permille  INTEGER NOT NULL,    -- at entry, for demand pricing
    status              TEXT NOT NULL,       -- active | completed
    exit_gate           TEXT,
    exit_ms             INTEGER
    -- what the stay cost and what was paid live in the ledger only
);
-- The database itself refuses two vehicles in one spot, and one vehicle inside twice.
CREATE UNIQUE INDEX sessions_one_vehicle_per_spot ON sessions (facility_id, spot)
    WHERE status = 'active' AND spot IS NOT NULL;
CREATE UNIQUE INDEX sessions_one_visit_per_plate ON sessions (facility_id, plate_index)
    WHERE status = 'active' AND plate_index IS NOT NULL;
CREATE INDEX sessions_facility_entry ON sessions (facility_id, entry_ms);

-- Every gate event by its idempotency key, with the decision given, so a retry gets the same answer.
CREATE TABLE gate_events (
    gate_id      TEXT NOT NULL,
    event_key    TEXT NOT NULL,
    facility_id  TEXT NOT NULL,
    direction    TEXT NOT NULL,
    session_id   TEXT,
    decision     TEXT NOT NULL,
    at_ms        INTEGER NOT NULL,
    PRIMARY KEY (gate_id, event_key)
);
