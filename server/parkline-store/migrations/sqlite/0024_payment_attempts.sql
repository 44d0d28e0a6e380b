-- Every card charge tried at a facility and how it ended (succeeded, declined, error), for the
-- payment-failure-rate alert per facility and provider. Amounts and cards are in the ledger or nowhere.
CREATE TABLE payment_attempts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    facility_id  TEXT NOT NULL,
    provider     TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    at_ms        BIGINT NOT NULL
);
CREATE INDEX payment_attempts_at ON payment_attempts (at_ms);
