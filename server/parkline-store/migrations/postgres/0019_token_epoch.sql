-- Signing out (or erasing the account) ends every token a person holds, on every instance: access tokens
-- carry the epoch they were issued in, and a token from an earlier epoch is refused.
ALTER TABLE users ADD COLUMN token_epoch BIGINT NOT NULL DEFAULT 0;
