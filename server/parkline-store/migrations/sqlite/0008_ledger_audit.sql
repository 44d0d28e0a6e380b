-- The money ledger: append-only. Every charge, payment, refund and adjustment is one row with the
-- idempotency key that created it; balances are sums over it and are stored nowhere else.
CREATE TABLE ledger (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_key       TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('charge', 'payment', 'refund', 'adjustment')),
    amount_minor    INTEGER NOT NULL CHECK (amount_minor > 0),
    currency        TEXT NOT NULL,
    facility_id     TEXT,               -- none for account-level money (top-ups, account payments)
    session_id      TEXT,
    reservation_id  TEXT,
    user_id         INTEGER,
    method          TEXT,               -- card | lane | wallet | validation | no_show ...
    provider_ref    TEXT,               -- the payment provider's id for this money movement
    refund_of       INTEGER REFERENCES ledger(id),
    memo            TEXT,
    at_ms           INTEGER NOT NULL
);
CREATE INDEX ledger_session ON ledger (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX ledger_facility_at ON ledger (facility_id, at_ms);
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger BEGIN SELECT RAISE(ABORT, 'ledger_append_only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger BEGIN SELECT RAISE(ABORT, 'ledger_append_only'); END;

-- The audit chain: money movements and gate overrides, each row hashing the one before it, so an
-- edited, removed or reordered row breaks the chain (`parkline-server verify-audit`).
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,     -- previous + 1, assigned by the writer
    at_ms      INTEGER NOT NULL,
    kind       TEXT NOT NULL,           -- ledger | override
    ref_id     TEXT NOT NULL,
    body       TEXT NOT NULL,           -- canonical JSON of what happened (no plaintext personal data)
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_append_only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_append_only'); END;
