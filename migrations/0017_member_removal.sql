-- The audit trail now also records an OWNER's removal of a member (docs/accounts.md,
-- "Members and roles"): MEMBER_REMOVED, key_id then holding the removed member's user
-- id, made through DELETE /organization/{idOrg}/member/{userId}. Like every audit row
-- it stays as long as the organization. SQLite cannot change a CHECK in place, so the
-- table is rebuilt with its rows and both indexes (as 0015 did). It only widens what
-- the table accepts: the code before this release runs on it unchanged.
--
-- org_members.owner_until_ms: when the member stopped being OWNER by a role change
-- (NULL: never was an OWNER, or stopped before this migration: such a member is
-- removable at once). A member who was OWNER in the last day is
-- not removed, so a stolen OWNER token cannot demote and erase another OWNER in two
-- requests: the demotion's mail reaches every OWNER a day before removal is possible.
-- Nullable, so the code before this release runs on it unchanged.
ALTER TABLE org_members ADD COLUMN owner_until_ms INTEGER;

CREATE TABLE key_audit_v4 (
    id            TEXT    NOT NULL PRIMARY KEY,
    org_id        TEXT    NOT NULL REFERENCES organizations (id),
    key_id        TEXT    NOT NULL,
    -- NULL: an operator, through gatehouse-cli admin.
    actor_user_id TEXT    REFERENCES users (id),
    action        TEXT    NOT NULL
        CHECK (action IN ('CREATE', 'REVOKE', 'ENV_SET', 'ENV_DELETE',
                          'ROLE_OWNER', 'ROLE_ADMINISTRATOR', 'ROLE_MEMBER',
                          'MEMBER_REMOVED')),
    at_ms         INTEGER NOT NULL
);
INSERT INTO key_audit_v4 (id, org_id, key_id, actor_user_id, action, at_ms)
SELECT id, org_id, key_id, actor_user_id, action, at_ms FROM key_audit;
DROP TABLE key_audit;
ALTER TABLE key_audit_v4 RENAME TO key_audit;
CREATE INDEX key_audit_by_org ON key_audit (org_id, at_ms);
CREATE INDEX key_audit_by_actor ON key_audit (actor_user_id)
    WHERE actor_user_id IS NOT NULL;
