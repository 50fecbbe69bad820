-- Unverified sign-ups expire (docs/operations.md, "Retention"): the scheduled
-- maintenance removes an account whose email was never verified UNVERIFIED_ACCOUNT_DAYS
-- (30) after its sign-up (a link sent in the last day holds it), with the organization only it
-- belonged to (src/store/maintenance.rs). Indexes only, so the code before and after
-- this release both run on it.

-- The sweep's range scan: unverified accounts, oldest first. Verified accounts (nearly
-- all of them) are not in it.
CREATE INDEX users_unverified_by_created ON users (created_at_ms)
    WHERE email_verified_at_ms IS NULL;

-- "Does anything hold this organization?": its keys, revoked ones too (the existing
-- org_keys_active holds only active ones).
CREATE INDEX org_keys_by_org ON org_keys (org_id);

-- "Did this account ever act?": an audit row names it (CLI-made rows name nobody).
CREATE INDEX key_audit_by_actor ON key_audit (actor_user_id)
    WHERE actor_user_id IS NOT NULL;
