-- Sign-ups waiting for the code mailed to the address: the account exists only once the code comes
-- back, so a sign-up answers the same whether or not the address has an account. A code is tried at
-- most five times and lives half an hour; expired rows go when the next sign-up is stored.
CREATE TABLE signups (
    email         TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    code_hash     TEXT NOT NULL,
    expires_ms    BIGINT NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0
);
