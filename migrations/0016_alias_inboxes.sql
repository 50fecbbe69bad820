-- Links to the aliases of one mailbox are counted together
-- (core::account::INBOX_LINKS_PER_WINDOW): an account whose address is an alias
-- (ada+news@acme.io; a dotted or googlemail.com Gmail address) keeps the mailbox it
-- delivers to (ada@acme.io) in `inbox`; every other account NULL. Accounts made
-- before this release are NULL too (not filled here: a scan of every account is no
-- migration's work), as are those the code before it makes (after a rollback): they
-- stay bounded per account, and the unverified ones, which a stranger could have
-- planted, are removed by the scheduled maintenance after UNVERIFIED_ACCOUNT_DAYS
-- unless links keep being asked for them. A nullable column and a partial index: the code before this
-- release runs on it unchanged.
ALTER TABLE users ADD COLUMN inbox TEXT;
CREATE INDEX users_by_inbox ON users (inbox) WHERE inbox IS NOT NULL;
