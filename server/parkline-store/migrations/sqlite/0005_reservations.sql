-- Reservations of a specific spot over a window. No two that claim a spot may overlap: SQLite runs one
-- writer at a time, so these triggers are a serialised check that the database itself enforces.
CREATE TABLE reservations (
    id             TEXT PRIMARY KEY,
    facility_id    TEXT NOT NULL REFERENCES facilities(id),
    spot           TEXT NOT NULL,
    plate_sealed   TEXT NOT NULL,      -- encrypted (vault.rs)
    vehicle_class  TEXT NOT NULL,
    electric       INTEGER NOT NULL,
    start_ms       INTEGER NOT NULL,
    end_ms         INTEGER NOT NULL,
    status         TEXT NOT NULL,      -- confirmed | checked_in | cancelled | no_show
    quote_minor    INTEGER NOT NULL,
    fee_minor      INTEGER NOT NULL,
    owner_id       INTEGER,
    group_id       TEXT,
    created_ms     INTEGER NOT NULL
);
CREATE INDEX reservations_facility_spot_start ON reservations (facility_id, spot, start_ms);

CREATE TRIGGER reservations_no_overlap_insert BEFORE INSERT ON reservations
WHEN NEW.status IN ('confirmed', 'checked_in') AND EXISTS (
    SELECT 1 FROM reservations r
    WHERE r.facility_id = NEW.facility_id AND r.spot = NEW.spot AND r.status IN ('confirmed', 'checked_in')
      AND r.start_ms < NEW.end_ms AND NEW.start_ms < r.end_ms)
BEGIN
    SELECT RAISE(ABORT, 'reservation_overlap');
END;

CREATE TRIGGER reservations_no_overlap_update BEFORE UPDATE OF spot, start_ms, end_ms, status ON reservations
WHEN NEW.status IN ('confirmed', 'checked_in') AND EXISTS (
    SELECT 1 FROM reservations r
    WHERE r.id <> NEW.id AND r.facility_id = NEW.facility_id AND r.spot = NEW.spot
      AND r.status IN ('confirmed', 'checked_in') AND r.start_ms < NEW.end_ms AND NEW.start_ms < r.end_ms)
BEGIN
    SELECT RAISE(ABORT, 'reservation_overlap');
END;

ALTER TABLE sessions ADD COLUMN reservation_id TEXT;
