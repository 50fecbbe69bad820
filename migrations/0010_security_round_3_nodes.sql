-- Security round 3, the node side (SECURITY.md).
--
-- 1. A node's identity is (organization, address), no longer the bare address: no
--    organization can take another's address, before its node's first registration or
--    after it unregisters, and two organizations' LAN nodes at 10.0.0.5 never collide.
--    SQLite cannot change a primary key in place, so the table is rebuilt.
PRAGMA defer_foreign_keys = true;

CREATE TABLE nodes_by_org_and_ip (
    org_id            TEXT    NOT NULL REFERENCES organizations (id),
    ip                TEXT    NOT NULL,
    -- UNKNOWN: the installer run without -p omits provider; such a node serves all three.
    provider          TEXT    NOT NULL CHECK (provider IN ('S3', 'GCS', 'AZURE', 'UNKNOWN')),
    status            TEXT    NOT NULL,
    region            TEXT    NOT NULL,
    version           TEXT    NOT NULL,
    -- Automatic node-key association: the key that verified the last registration.
    key_id            TEXT    NOT NULL REFERENCES org_keys (id),
    last_signed_at_ms INTEGER NOT NULL,
    created_at_ms     INTEGER NOT NULL,
    updated_at_ms     INTEGER NOT NULL,
    node_services     INTEGER NOT NULL DEFAULT 1
        CHECK (node_services BETWEEN 0 AND 2147483647),
    PRIMARY KEY (org_id, ip)
);
INSERT INTO nodes_by_org_and_ip (org_id, ip, provider, status, region, version, key_id,
    last_signed_at_ms, created_at_ms, updated_at_ms, node_services)
SELECT org_id, ip, provider, status, region, version, key_id,
    last_signed_at_ms, created_at_ms, updated_at_ms, node_services FROM nodes;
DROP TABLE nodes;
ALTER TABLE nodes_by_org_and_ip RENAME TO nodes;
-- Re-registrations that do not name their organization find it by address.
CREATE INDEX nodes_by_ip ON nodes (ip);
CREATE INDEX nodes_by_key ON nodes (key_id);
CREATE INDEX nodes_by_last_seen ON nodes (updated_at_ms);

-- 2. After /unregister or an operator's delete the node row is gone, and with it the
--    last signed timestamp that refused replays in D1. A tombstone keeps it while a
--    captured request could still be fresh. Retention: 2 × TIMESTAMP_SKEW_SECONDS + 60 s
--    after removal (the nonce TTL); every removal deletes up to 20 expired tombstones,
--    so the table holds about the removals of the last window.
CREATE TABLE node_tombstones (
    org_id            TEXT    NOT NULL,
    ip                TEXT    NOT NULL,
    -- No registration signed at or before this instant may bring the node back.
    last_signed_at_ms INTEGER NOT NULL,
    removed_at_ms     INTEGER NOT NULL,
    PRIMARY KEY (org_id, ip)
);
CREATE INDEX node_tombstones_by_removal ON node_tombstones (removed_at_ms);

-- 3. Keys uploaded without proof of possession are "unproven" (0). Generated keys and
--    keys uploaded with a proof are proven (1); rows written by migrations or by an
--    operator's SQL are trusted, hence the default. An unproven key never verifies a
--    first registration whose organization is not signed (the installer's form), and
--    a proven upload of the same key supersedes an unproven copy elsewhere.
ALTER TABLE org_keys ADD COLUMN proven INTEGER NOT NULL DEFAULT 1 CHECK (proven IN (0, 1));

-- 4. Wrong secrets per node id, so /register_node_secret stops answering guesses
--    (10 per hour). The counter lives on the node's own row: no new rows.
ALTER TABLE node_secrets ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE node_secrets ADD COLUMN failed_since_ms INTEGER;
