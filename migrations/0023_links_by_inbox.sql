-- The links of one mailbox's unverified aliases are counted together (migration 0016,
-- core::account::INBOX_LINKS_PER_WINDOW: ten an hour). That count walked every account
-- at the mailbox (users_by_inbox) and looked each one's links up: anyone may sign up
-- at as many aliases of one mailbox as sign-up's rate lets them (ada+1@…, ada+2@…,
-- dotted Gmail forms), each kept 30 days while unverified, so one /48 could make a
-- sign-up, resend or reset request read millions of rows (~1 s of the primary's time
-- each at 2.4 million aliases, measured on SQLite with the migrations).
--
-- A link now keeps the mailbox of the account it was made for while that account is
-- an unverified alias (NULL otherwise, and set NULL as the account verifies: verified
-- accounts are not in the mailbox's budget), and
-- the count is a range of the index below: at most eleven rows, however many aliases.
-- Links made before this release (or by the code before it, after a rollback) have no
-- mailbox and are not counted: the budget is an hour's, so for at most an hour after
-- the deploy a mailbox's aliases may get up to ten more links than it allows. The
-- code before this release runs on this unchanged (nullable columns, partial indexes).
ALTER TABLE email_verifications ADD COLUMN inbox TEXT;
ALTER TABLE password_resets ADD COLUMN inbox TEXT;
CREATE INDEX email_verifications_by_inbox ON email_verifications (inbox, created_at_ms)
    WHERE inbox IS NOT NULL;
CREATE INDEX password_resets_by_inbox ON password_resets (inbox, created_at_ms)
    WHERE inbox IS NOT NULL;
