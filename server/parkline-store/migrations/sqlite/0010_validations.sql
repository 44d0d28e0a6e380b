-- Merchant validations: codes a shop or hotel gives visitors to take part of the parking off. Uses are
-- counted with a conditional update, so a code with a use limit is never used past it.
CREATE TABLE validations (
    code            TEXT PRIMARY KEY,
    facility_id     TEXT NOT NULL REFERENCES facilities(id),
    merchant        TEXT NOT NULL,
    discount        TEXT NOT NULL,      -- parkline_domain::validation::Discount, JSON
    max_uses        INTEGER,
    uses            INTEGER NOT NULL DEFAULT 0,
    valid_until_ms  INTEGER,
    created_ms      INTEGER NOT NULL,
    revoked_ms      INTEGER
);

-- Which sessions a code was applied to: once per session.
CREATE TABLE session_validations (
    session_id  TEXT NOT NULL,
    code        TEXT NOT NULL REFERENCES validations(code),
    at_ms       INTEGER NOT NULL,
    PRIMARY KEY (session_id, code)
);
