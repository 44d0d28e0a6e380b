-- Partners' webhook endpoints, and the outbox of events to deliver to them. Outbox rows are written in
-- the transaction of the change they announce, so an event is never lost nor sent for a change that
-- did not happen; a dispatcher delivers them, retrying with backoff until the endpoint says 2xx.
CREATE TABLE webhook_endpoints (
    id            TEXT PRIMARY KEY,
    url           TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,        -- the signing secret, encrypted (vault.rs)
    topics        TEXT NOT NULL,        -- space-separated event types, or '*'
    created_ms    INTEGER NOT NULL,
    disabled_ms   INTEGER
);

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id         TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints(id),
    topic            TEXT NOT NULL,
    body             TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms  INTEGER NOT NULL,
    delivered_ms     INTEGER,
    last_error       TEXT,
    created_ms       INTEGER NOT NULL,
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX outbox_due ON outbox (next_attempt_ms) WHERE delivered_ms IS NULL;
