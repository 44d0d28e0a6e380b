-- Merchant validations: codes a shop or hotel gives visitors to take part of the parking off. Uses are
-- counted with a conditional update, so a code with a use limit is never used past it.
CREATE TABLE validations (
    code            TEXT PRIMARY KEY,
    facility_id     TEXT NOT NULL REFERENCES facilities(id),
    merchant        TEXT NOT NULL,
    discount        TEXT NOT NULL,      -- parkline_domain::validation::Discount, JSON
    max_uses        BIGINT,
    uses            BIGINT NOT NULL DEFAULT 0,
    valid_until_ms  BIGINT,
    created_ms      BIGINT NOT NULL,
    revoked_ms      BIGINT
);

-- Which sessions a code was applied to: once per session.
CREATE TABLE session_validations (
    session_id  TEXT NOT NULL,
    code        TEXT NOT NULL REFERENCES validations(code),
    at_ms       BIGINT NOT NULL,
    PRIMARY KEY (session_id, code)
);
