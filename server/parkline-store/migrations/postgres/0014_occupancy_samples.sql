-- Each facility's occupancy every five minutes, for the managers' charts and the demand forecast. One
-- row per facility and slot: when several instances sample the same slot, the first one stands.
CREATE TABLE occupancy_samples (
    facility_id TEXT NOT NULL,
    at_ms       BIGINT NOT NULL,      -- start of the five-minute slot
    taken       BIGINT NOT NULL,      -- occupied + held
    in_service  BIGINT NOT NULL,      -- free + occupied + held
    PRIMARY KEY (facility_id, at_ms)
);
