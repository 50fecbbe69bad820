-- Domains an operator refuses sign-ups from (`gatehouse-cli admin block-domain`): an
-- address at one of them, or at any of its subdomains, cannot sign up. A catch-all
-- domain whose every address reaches one script is erased with `admin
-- delete-accounts-at`; this keeps the script from signing up there again. Accounts
-- already at a blocked domain are not touched: they sign in as before.
--
-- Retention: operator-entered, one row per domain, kept until `admin unblock-domain`;
-- nothing a client sends adds a row. Sign-up reads it by primary key, for the
-- address's domain and each parent of it of two labels or more, in the read it
-- already makes. The code before this release never reads it.
CREATE TABLE blocked_domains (
    domain TEXT PRIMARY KEY,
    blocked_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
