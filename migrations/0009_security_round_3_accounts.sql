-- Security round 3, accounts (SECURITY.md): failed passwords counted per (account,
-- client network), as Auth0's brute-force protection does, so a stranger's guesses
-- lock only the stranger's own network (core::account::login_guard). The account-wide
-- counter (users.failed_logins*, 0005) stays, as a far higher ceiling for unknown
-- networks.
--
-- Retention: a row lives while its 15-minute window is open. Every failure write
-- first deletes every row whose window is over (any account; the index below makes
-- that a range scan), a successful login deletes its own (account, network) row, and
-- a password reset deletes every row of the account.
CREATE TABLE login_failures (
    user_id         TEXT    NOT NULL REFERENCES users (id),
    network         TEXT    NOT NULL,
    failures        INTEGER NOT NULL,
    window_start_ms INTEGER NOT NULL,
    PRIMARY KEY (user_id, network)
) WITHOUT ROWID;
CREATE INDEX login_failures_by_window ON login_failures (window_start_ms);
