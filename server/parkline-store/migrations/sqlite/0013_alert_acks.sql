-- Managers' acknowledgements of alerts. Alerts themselves are computed from live state; an alert's id
-- names one occurrence (a spot's sensor silent since its last reading, a session's overstay, a day at
-- capacity), so an acknowledgement covers that occurrence and a recurrence is a new alert.
CREATE TABLE alert_acks (
    alert_id    TEXT PRIMARY KEY,
    note        TEXT NOT NULL,
    user_id     INTEGER NOT NULL,
    at_ms       INTEGER NOT NULL
);
