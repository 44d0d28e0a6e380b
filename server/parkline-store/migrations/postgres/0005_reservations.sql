-- Reservations of a specific spot over a window. No two that claim a spot may overlap: an exclusion
-- constraint makes the database refuse the second, whichever server instance tries.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE reservations (
    id             TEXT PRIMARY KEY,
    facility_id    TEXT NOT NULL REFERENCES facilities(id),
    spot           TEXT NOT NULL,
    plate_sealed   TEXT NOT NULL,      -- encrypted (vault.rs)
    vehicle_class  TEXT NOT NULL,
    electric       BIGINT NOT NULL,
    start_ms       BIGINT NOT NULL,
    end_ms         BIGINT NOT NULL,
    status         TEXT NOT NULL,      -- confirmed | checked_in | cancelled | no_show
    quote_minor    BIGINT NOT NULL,
    fee_minor      BIGINT NOT NULL,
    owner_id       BIGINT,
    group_id       TEXT,
    created_ms     BIGINT NOT NULL,
    CONSTRAINT reservations_no_overlap EXCLUDE USING gist (
        facility_id WITH =, spot WITH =, int8range(start_ms, end_ms) WITH &&
    ) WHERE (status IN ('confirmed', 'checked_in'))
);

ALTER TABLE sessions ADD COLUMN reservation_id TEXT;
