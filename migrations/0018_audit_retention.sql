-- An organization's audit trail is kept for AUDIT_RETENTION_DAYS (400 by default), no
-- longer for the organization's life: a day's changes are bounded (100 counted, as many
-- undone), the days are not, so the trail of an organization that keeps changing grew
-- for ever. The scheduled maintenance deletes entries past the period, then keys
-- revoked before it that no node names (nothing reads a revoked key but the trail),
-- then erased accounts (`erased:<id>`) no entry names any more (docs/operations.md,
-- "Retention"). Each delete is a bounded range scan of an index added here; erased
-- accounts are found through users_email. Indexes only: the code before this release
-- runs on it unchanged (each audited change and revocation writes one more index entry).
CREATE INDEX key_audit_by_time ON key_audit (at_ms);
CREATE INDEX org_keys_revoked ON org_keys (revoked_at_ms) WHERE revoked_at_ms IS NOT NULL;
