-- The retention purge covers bookings too: a reservation that ended before the retention period has its
-- plate replaced (by the sealed word ERASED, as erasure does) and is marked, so it is counted once.
ALTER TABLE reservations ADD COLUMN plate_purged_ms BIGINT;
