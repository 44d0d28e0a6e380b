-- A facility's current rate plan, as RatePlan JSON (see parkline-domain's pricing module).
CREATE TABLE rate_plans (
    facility_id  TEXT PRIMARY KEY REFERENCES facilities(id),
    plan         TEXT NOT NULL,
    updated_ms   INTEGER NOT NULL
);
