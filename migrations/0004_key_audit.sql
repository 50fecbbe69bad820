-- Who did what to an organization's keys, and when.
CREATE TABLE key_audit (
    id            TEXT    NOT NULL PRIMARY KEY,
    org_id        TEXT    NOT NULL REFERENCES organizations (id),
    key_id        TEXT    NOT NULL,
    actor_user_id TEXT    NOT NULL REFERENCES users (id),
    action        TEXT    NOT NULL CHECK (action IN ('CREATE', 'REVOKE')),
    at_ms         INTEGER NOT NULL
);
CREATE INDEX key_audit_by_org ON key_audit (org_id, at_ms);
