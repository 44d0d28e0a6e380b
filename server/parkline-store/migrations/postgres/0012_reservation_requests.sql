-- Booking requests by their idempotency key (scoped to the caller): a retried booking finds the
-- reservations its first attempt made, in the same transaction as those were stored.
CREATE TABLE reservation_requests (
    request_key      TEXT PRIMARY KEY,
    reservation_ids  TEXT NOT NULL,     -- JSON array
    created_ms       BIGINT NOT NULL
);
