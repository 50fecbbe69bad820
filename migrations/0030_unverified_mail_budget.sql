-- One budget an hour for the whole deployment's mail to addresses nobody has proven:
-- the verification links of sign-ups and resends, and the reset links of accounts
-- never verified. Anyone may sign up with any address, from many networks at their
-- own per-network pace, and each sign-up mails; without a bound of the whole, strangers
-- could spend the sending quota Cloudflare gives the account (a modest daily one for a
-- new account) and so silence what must arrive: the security notices of a key or
-- environment added with a stolen token, and the resets of verified accounts. Those
-- are not counted here and keep the rest of the quota.
--
-- UNVERIFIED_MAIL_PER_HOUR mails of that kind go in a window of an hour, and at most
-- UNVERIFIED_MAIL_PER_NETWORK of them for one network (an IPv4 /24, an IPv6 /48, as
-- for node ids: 0029), so that one network cannot spend the hour for everyone; past
-- either a sign-up still answers 201 with its mail skipped (logged), and a resend or
-- such a reset makes no link, answered as when none is due. The windows' rows are
-- written by the batch that makes the link, which counts only while both have room,
-- and mark the count with the link's token hash (last_by) so that the rest of the
-- batch knows whether its mail was counted.
--
-- Retention: the deployment's row ('unverified'), updated in place; a network's row
-- ('unverified@<network>') while its window is open: every request with a network
-- deletes two of the others' whose window is over (by the index below), so they are at
-- most the networks that sent in the last hour, and what was left when requests stopped. A new table: the code before
-- this release runs on it unchanged (it does not read it).
CREATE TABLE mail_budget (
    class TEXT PRIMARY KEY NOT NULL,
    window_start_ms INTEGER NOT NULL,
    sent INTEGER NOT NULL,
    last_by TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX mail_budget_by_window ON mail_budget (window_start_ms);
