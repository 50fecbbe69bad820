-- The audit trail now also records role changes (docs/accounts.md, "Members and
-- roles"): ROLE_OWNER, ROLE_ADMINISTRATOR or ROLE_MEMBER, key_id then holding the
-- member's user id, made by an OWNER through PUT /organization/{idOrg}/member/{userId}
-- or by an operator with gatehouse-cli admin set-role (actor_user_id NULL). They count
-- against the organization's 100 changes a day like key and environment changes.
-- SQLite cannot change a CHECK in place, so the table is rebuilt with its rows and
-- both indexes. It only widens what the table accepts: the code before this release
-- runs on it unchanged.
CREATE TABLE key_audit_v3 (
    id            TEXT    NOT NULL PRIMARY KEY,
    org_id        TEXT    NOT NULL REFERENCES organizations (id),
    key_id        TEXT    NOT NULL,
    -- NULL: an operator, through gatehouse-cli admin.
    actor_user_id TEXT    REFERENCES users (id),
    action        TEXT    NOT NULL
        CHECK (action IN ('CREATE', 'REVOKE', 'ENV_SET', 'ENV_DELETE',
                          'ROLE_OWNER', 'ROLE_ADMINISTRATOR', 'ROLE_MEMBER')),
    at_ms         INTEGER NOT NULL
);
INSERT INTO key_audit_v3 (id, org_id, key_id, actor_user_id, action, at_ms)
SELECT id, org_id, key_id, actor_user_id, action, at_ms FROM key_audit;
DROP TABLE key_audit;
ALTER TABLE key_audit_v3 RENAME TO key_audit;
CREATE INDEX key_audit_by_org ON key_audit (org_id, at_ms);
CREATE INDEX key_audit_by_actor ON key_audit (actor_user_id)
    WHERE actor_user_id IS NOT NULL;
