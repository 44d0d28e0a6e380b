-- The change feed: what each commit changed, in commit order, for the other instances to read by
-- sequence (NOTIFY only wakes them). Writers take one advisory lock before they append, so sequence
-- order is commit order and a reader never sees a later change before an earlier one commits.
CREATE TABLE changes (
    seq BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL DEFAULT now(),
    change TEXT NOT NULL
);
CREATE INDEX changes_at ON changes (at);
