-- Organizations, their RSA public keys, and the bridge nodes registered with them.

CREATE TABLE organizations (
    id            TEXT    NOT NULL PRIMARY KEY,
    name          TEXT    NOT NULL,
    banned        INTEGER NOT NULL DEFAULT 0 CHECK (banned IN (0, 1)),
    created_at_ms INTEGER NOT NULL
);

-- Public keys only (SPKI PEM). A revoked key stays for the audit trail and for the
-- nodes that were associated with it, but never verifies again.
CREATE TABLE org_keys (
    id             TEXT    NOT NULL PRIMARY KEY,
    org_id         TEXT    NOT NULL REFERENCES organizations (id),
    public_key_pem TEXT    NOT NULL,
    -- The worker refuses other sizes before inserting; this backs it up in storage.
    bits           INTEGER NOT NULL CHECK (bits BETWEEN 2048 AND 4096),
    created_at_ms  INTEGER NOT NULL,
    revoked_at_ms  INTEGER
);
CREATE INDEX org_keys_active ON org_keys (org_id, created_at_ms) WHERE revoked_at_ms IS NULL;

-- One row per node, keyed by its (canonical) ip. last_signed_at_ms is the timestamp of
-- the last accepted signed request: the upsert applies only to a strictly newer one,
-- which makes a replay impossible even when KV (eventually consistent) misses it.
CREATE TABLE nodes (
    ip                TEXT    NOT NULL PRIMARY KEY,
    provider          TEXT    NOT NULL CHECK (provider IN ('S3', 'GCS', 'AZURE')),
    status            TEXT    NOT NULL,
    region            TEXT    NOT NULL,
    version           TEXT    NOT NULL,
    org_id            TEXT    NOT NULL REFERENCES organizations (id),
    -- Automatic node-key association: the key that verified the last registration.
    key_id            TEXT    NOT NULL REFERENCES org_keys (id),
    last_signed_at_ms INTEGER NOT NULL,
    created_at_ms     INTEGER NOT NULL,
    updated_at_ms     INTEGER NOT NULL
);
CREATE INDEX nodes_by_org ON nodes (org_id);
CREATE INDEX nodes_by_key ON nodes (key_id);
