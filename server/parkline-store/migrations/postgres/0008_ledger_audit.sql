-- The money ledger: append-only. Every charge, payment, refund and adjustment is one row with the
-- idempotency key that created it; balances are sums over it and are stored nowhere else.
CREATE TABLE ledger (
    id              BIGSERIAL PRIMARY KEY,
    entry_key       TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('charge', 'payment', 'refund', 'adjustment')),
    amount_minor    BIGINT NOT NULL CHECK (amount_minor > 0),
    currency        TEXT NOT NULL,
    facility_id     TEXT,               -- none for account-level money (top-ups, account payments)
    session_id      TEXT,
    reservation_id  TEXT,
    user_id         BIGINT,
    method          TEXT,               -- card | lane | wallet | validation | no_show ...
    provider_ref    TEXT,               -- the payment provider's id for this money movement
    refund_of       BIGINT REFERENCES ledger(id),
    memo            TEXT,
    at_ms           BIGINT NOT NULL
);
CREATE INDEX ledger_session ON ledger (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX ledger_facility_at ON ledger (facility_id, at_ms);

-- The audit chain: money movements and gate overrides, each row hashing the one before it, so an
-- edited, removed or reordered row breaks the chain (`parkline-server verify-audit`). Writers of
-- several instances take an advisory lock to extend it one at a time.
CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY,      -- previous + 1, assigned by the writer
    at_ms      BIGINT NOT NULL,
    kind       TEXT NOT NULL,           -- ledger | override
    ref_id     TEXT NOT NULL,
    body       TEXT NOT NULL,           -- canonical JSON of what happened (no plaintext personal data)
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);

CREATE FUNCTION parkline_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%_append_only', TG_TABLE_NAME;
END $$;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION parkline_append_only();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION parkline_append_only();
