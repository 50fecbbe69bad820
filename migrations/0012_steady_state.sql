-- Steady state (issue 24): storage that does not grow with time (docs/operations.md,
-- "Retention").
--
-- 1. One row per sign-in instead of one per refresh token. Rotation overwrites the
--    current token (its id and hash); reuse detection needs no more: a refresh token
--    names its sign-in (the `sid` claim), so a validly signed token of the sign-in that
--    is not its current one is a retired token coming back. The device info is stored
--    once. Retention: the row is deleted by the scheduled maintenance once the newest
--    token it issued has expired (expires_at_ms), whether the sign-in ended or not —
--    until then every token of it is still answered by why it no longer works.
CREATE TABLE sign_ins (
    -- The sign-in's id: access tokens' `sid`, refresh tokens' `sid`, and the id of its
    -- first refresh token (what the old family_id was).
    id              TEXT    NOT NULL PRIMARY KEY,
    user_id         TEXT    NOT NULL REFERENCES users (id),
    -- The current refresh token: its id (jti, the `tokenId` answered) and SHA-256.
    token_id        TEXT    NOT NULL,
    token_hash      TEXT    NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    -- When the current token was issued (the last rotation).
    last_used_ms    INTEGER NOT NULL,
    -- When the current token (the newest one issued) expires.
    expires_at_ms   INTEGER NOT NULL,
    -- Set when the sign-in ends: logout, DELETE /token/{id}, a password reset, reuse.
    ended_at_ms     INTEGER,
    -- Ended because a retired token came back (TOKEN_REUSED rather than SESSION_ENDED).
    ended_for_reuse INTEGER NOT NULL DEFAULT 0 CHECK (ended_for_reuse IN (0, 1)),
    -- What the client said about the device at login (JSON, at most 2 KiB).
    device_info     TEXT
);
CREATE UNIQUE INDEX sign_ins_by_token ON sign_ins (token_id);
CREATE INDEX sign_ins_by_user ON sign_ins (user_id, ended_at_ms);
CREATE INDEX sign_ins_by_expiry ON sign_ins (expires_at_ms);

-- Every sign-in whose newest token has not expired, as its newest token (the one row
-- of its family that rotation has not retired). Retired rows are not carried over:
-- a pre-migration retired token that comes back finds no sign-in and is refused as
-- INVALID_TOKEN (no longer as TOKEN_REUSED); live sign-ins all continue.
INSERT INTO sign_ins (id, user_id, token_id, token_hash, created_at_ms, last_used_ms,
    expires_at_ms, ended_at_ms, ended_for_reuse, device_info)
SELECT s.family_id, s.user_id, s.id, s.token_hash,
    coalesce((SELECT f.created_at_ms FROM refresh_sessions f WHERE f.id = s.family_id),
             s.created_at_ms),
    s.created_at_ms, s.expires_at_ms, s.revoked_at_ms, s.revoked_for_reuse, s.device_info
FROM refresh_sessions s
WHERE s.replaced_by IS NULL
  AND s.expires_at_ms > CAST(strftime('%s', 'now') AS INTEGER) * 1000
  AND s.rowid = (SELECT r.rowid FROM refresh_sessions r
                 WHERE r.family_id = s.family_id AND r.replaced_by IS NULL
                 ORDER BY r.created_at_ms DESC, r.rowid DESC LIMIT 1);
DROP TABLE refresh_sessions;

-- 2. Indexes the scheduled maintenance deletes by (each deletion is a range scan).
CREATE INDEX email_verifications_by_expiry ON email_verifications (expires_at_ms);
CREATE INDEX password_resets_by_expiry ON password_resets (expires_at_ms);
CREATE INDEX login_networks_by_last_success ON login_networks (last_success_ms);
