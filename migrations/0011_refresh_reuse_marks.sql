-- A refresh token that comes back after its sign-in ended is answered by why it ended:
-- retired by rotation (replaced_by) or revoked because a retired one came back
-- (reuse detection, this flag) → TOKEN_REUSED, a possible theft the client should
-- show; ended by the person (logout, DELETE /token/{id}) or a password reset →
-- SESSION_ENDED, an ordinary sign-out. Rows keep their existing retention.
ALTER TABLE refresh_sessions ADD COLUMN revoked_for_reuse INTEGER NOT NULL DEFAULT 0
    CHECK (revoked_for_reuse IN (0, 1));
