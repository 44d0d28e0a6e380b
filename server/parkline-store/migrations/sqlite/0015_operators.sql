-- Parking operators (a city, a hospital, a private chain): each owns its facilities, staff, devices and
-- API keys. Everything made before operators existed belongs to the `default` operator, so an existing
-- database keeps working. (SQLite cannot add a column with a non-null default and a REFERENCES clause;
-- the server only writes operators it has checked.)
CREATE TABLE operators (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_ms  INTEGER NOT NULL
);
INSERT INTO operators (id, name, created_ms) VALUES ('default', 'Default operator', 0);

ALTER TABLE facilities ADD COLUMN operator_id TEXT NOT NULL DEFAULT 'default';

-- Staff (attendants, managers) belong to one operator; drivers and platform admins to none.
ALTER TABLE users ADD COLUMN operator_id TEXT;
UPDATE users SET operator_id = 'default' WHERE role IN ('attendant', 'manager');

-- A staff member limited to some of the operator's facilities; none listed means all of them.
CREATE TABLE staff_facilities (
    user_id      INTEGER NOT NULL REFERENCES users(id),
    facility_id  TEXT NOT NULL REFERENCES facilities(id),
    PRIMARY KEY (user_id, facility_id)
);

ALTER TABLE devices ADD COLUMN operator_id TEXT NOT NULL DEFAULT 'default';

-- What a partner's key may do, space-separated: `occupancy` (read live occupancy), `rates` (read rates
-- and quotes), `partner` (partner actions). Keys made before scopes keep everything they could do.
ALTER TABLE api_keys ADD COLUMN operator_id TEXT NOT NULL DEFAULT 'default';
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT 'occupancy rates partner';
