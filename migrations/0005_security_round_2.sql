-- Security round 2 (SECURITY.md): one organization per public key, domain claims only
-- by verified founders, login failures counted per account with known networks exempt,
-- free-mail domains as data.

-- A public key is active in at most one organization. The stored PEM is the canonical
-- SPKI encoding the worker writes (a one-to-one image of the SPKI DER, whatever form
-- was uploaded), so it is the key's fingerprint and needs no hash SQLite cannot compute
-- for existing rows. Copies that already exist (the takeover this closes) lose: the
-- oldest active copy stays, later ones are revoked.
UPDATE org_keys SET revoked_at_ms = CAST(strftime('%s', 'now') AS INTEGER) * 1000
WHERE revoked_at_ms IS NULL AND EXISTS (
    SELECT 1 FROM org_keys older
    WHERE older.public_key_pem = org_keys.public_key_pem AND older.revoked_at_ms IS NULL
      AND (older.created_at_ms < org_keys.created_at_ms
           OR (older.created_at_ms = org_keys.created_at_ms AND older.id < org_keys.id)));
CREATE UNIQUE INDEX org_keys_one_active_owner ON org_keys (public_key_pem)
    WHERE revoked_at_ms IS NULL;
-- Revoked rows too: a key once held by one organization is never accepted by another.
CREATE INDEX org_keys_by_pem ON org_keys (public_key_pem, org_id);

-- A domain is claimed only once the founder's email is verified. Until then the
-- organization holds it as pending_domain, which captures nobody.
ALTER TABLE organizations ADD COLUMN pending_domain TEXT;
CREATE INDEX organizations_pending_domain ON organizations (pending_domain)
    WHERE pending_domain IS NOT NULL;

-- Organizations captured before this rule: where no OWNER ever verified, the earliest
-- verified member becomes OWNER, and a domain claim without a verified OWNER is undone.
UPDATE org_members SET role = 'OWNER'
WHERE rowid IN (
    SELECT (SELECT m.rowid FROM org_members m JOIN users u ON u.id = m.user_id
            WHERE m.org_id = o.id AND u.email_verified_at_ms IS NOT NULL
            ORDER BY m.created_at_ms, m.user_id LIMIT 1)
    FROM organizations o
    WHERE NOT EXISTS (
        SELECT 1 FROM org_members m JOIN users u ON u.id = m.user_id
        WHERE m.org_id = o.id AND m.role = 'OWNER' AND u.email_verified_at_ms IS NOT NULL));
UPDATE organizations SET pending_domain = domain, domain = NULL
WHERE domain IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM org_members m JOIN users u ON u.id = m.user_id
    WHERE m.org_id = organizations.id AND m.role = 'OWNER'
      AND u.email_verified_at_ms IS NOT NULL);

-- Failed passwords per account in the current window (core::account::login_guard).
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN failed_logins_since_ms INTEGER;

-- Networks (IPv4 address or IPv6 /64) an account has logged in from: exempt from the
-- account's failure lock, so guesses from elsewhere cannot lock the owner out.
CREATE TABLE login_networks (
    user_id         TEXT    NOT NULL REFERENCES users (id),
    network         TEXT    NOT NULL,
    last_success_ms INTEGER NOT NULL,
    PRIMARY KEY (user_id, network)
) WITHOUT ROWID;

-- Free-mail providers' domains, which never define a shared organization. Data from
-- the npm package free-email-domains (pinned in package.json), loaded by a later
-- migration generated with `make free-mail-migration`.
CREATE TABLE free_mail_domains (
    domain TEXT NOT NULL PRIMARY KEY
) WITHOUT ROWID;
