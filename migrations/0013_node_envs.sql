-- Service environments (issue 27): the env files of a node's three services, set by
-- the organization (PUT /organization/{idOrg}/node-env/{service}, gatehouse-cli admin
-- node-env) and fetched by its installer (POST /secrets, encrypted to the key that
-- signed the request).
PRAGMA defer_foreign_keys = true;

-- Sealed under the NODE_ENV_KEY Worker secret (core::node_env::at_rest): this table
-- alone reveals no file. Retention: configuration, at most one row per organization
-- and service (3 per organization); a row lives until it is replaced or deleted.
CREATE TABLE node_envs (
    org_id        TEXT    NOT NULL REFERENCES organizations (id),
    service       TEXT    NOT NULL CHECK (service IN ('s3', 'gcs', 'blob')),
    sealed        TEXT    NOT NULL,
    -- The file's length, to list it without opening it.
    size_bytes    INTEGER NOT NULL CHECK (size_bytes BETWEEN 1 AND 32768),
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (org_id, service)
);

-- The signatures POST /secrets has answered: D1's replay refusal behind the KV nonce
-- (KV is eventually consistent across locations; this insert is not). Retention: until
-- expires_at_ms (the nonce TTL, 2 × TIMESTAMP_SKEW_SECONDS + 60 s, after which the
-- timestamp alone refuses the request); every answered request deletes up to 20 expired
-- rows, so the table holds about one window's fetches.
CREATE TABLE secrets_fetches (
    nonce         TEXT    NOT NULL PRIMARY KEY,
    expires_at_ms INTEGER NOT NULL
);
CREATE INDEX secrets_fetches_by_expiry ON secrets_fetches (expires_at_ms);

-- The key audit trail now also records service environment changes (ENV_SET,
-- ENV_DELETE, key_id then holding the service: s3, gcs or blob), and operators' changes
-- made with gatehouse-cli, which have no user (actor_user_id NULL). SQLite cannot change
-- a CHECK or a NOT NULL in place, so the table is rebuilt with its rows.
CREATE TABLE key_audit_v2 (
    id            TEXT    NOT NULL PRIMARY KEY,
    org_id        TEXT    NOT NULL REFERENCES organizations (id),
    key_id        TEXT    NOT NULL,
    -- NULL: an operator, through gatehouse-cli admin.
    actor_user_id TEXT    REFERENCES users (id),
    action        TEXT    NOT NULL
        CHECK (action IN ('CREATE', 'REVOKE', 'ENV_SET', 'ENV_DELETE')),
    at_ms         INTEGER NOT NULL
);
INSERT INTO key_audit_v2 (id, org_id, key_id, actor_user_id, action, at_ms)
SELECT id, org_id, key_id, actor_user_id, action, at_ms FROM key_audit;
DROP TABLE key_audit;
ALTER TABLE key_audit_v2 RENAME TO key_audit;
CREATE INDEX key_audit_by_org ON key_audit (org_id, at_ms);
