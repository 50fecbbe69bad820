-- What the Flashback client reads of accounts (docs/flashback.md).

-- A public id for each verification link (`verificationTokenId`): the client asks for
-- a new link by it (POST /user/resend-verification/{id}); the link's secret stays the
-- token, stored only as its hash.
ALTER TABLE email_verifications ADD COLUMN id TEXT;
CREATE UNIQUE INDEX email_verifications_id ON email_verifications (id) WHERE id IS NOT NULL;

-- Whether the user signed up as a business (the profile's `isBusiness`).
ALTER TABLE users ADD COLUMN is_business INTEGER NOT NULL DEFAULT 0
    CHECK (is_business IN (0, 1));

-- Password reset links: only the SHA-256 of the token is kept; single use, one hour.
-- used_by names the request that used it, so of two concurrent resets with one link
-- exactly one sets the password.
CREATE TABLE password_resets (
    token_hash    TEXT    NOT NULL PRIMARY KEY,
    user_id       TEXT    NOT NULL REFERENCES users (id),
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER,
    used_by       TEXT
);
CREATE INDEX password_resets_by_user ON password_resets (user_id, created_at_ms);

-- What the client said about the device at login (`deviceInfo`, JSON, at most 2 KiB),
-- shown in the session list (GET /token); carried over when the token rotates.
ALTER TABLE refresh_sessions ADD COLUMN device_info TEXT;
CREATE INDEX refresh_sessions_by_user ON refresh_sessions (user_id, revoked_at_ms);
