-- Which network registered each node id, and how many node ids each network holds.
-- 0028 bounds how many node ids are held at once (NODE_SECRETS_MAX), but one holder of
-- an IPv6 /48 at its 600 a minute reaches a million in about 28 hours, and then keeps
-- every new node id out for as long as it keeps the bound full. Each network (an IPv4
-- /24, an IPv6 /48: core::node_secret::registering_network) now holds at most
-- NODE_SECRETS_PER_NETWORK node ids (10,000 by default, a hundredth of the bound), so
-- filling the bound takes a hundred networks, and an operator can see which ones hold
-- the most and remove what one registered (gatehouse-cli admin stats,
-- admin purge-node-secrets).
--
-- Counted in row_counts (0028) under 'node_secrets@<network>', by the triggers below:
-- one row written more per node id added or removed; a network's row goes with its
-- last node id (retention). Node ids registered before this release have no network
-- (NULL) and count in no network's share. A later migration that rebuilds node_secrets
-- must create these triggers again and recount (README). A column that may be null
-- and triggers: the code before this release runs on them unchanged.
--
-- No index on the column: it would be written with every node id, and only the
-- operator's purge of one network reads by it (a scan of the table, rarely run).
ALTER TABLE node_secrets ADD COLUMN network TEXT;
CREATE TRIGGER node_secrets_counted_in_network AFTER INSERT ON node_secrets
WHEN NEW.network IS NOT NULL
BEGIN
    INSERT INTO row_counts (table_name, row_count) VALUES ('node_secrets@' || NEW.network, 1)
        ON CONFLICT (table_name) DO UPDATE SET row_count = row_count + 1;
END;
CREATE TRIGGER node_secrets_counted_out_of_network AFTER DELETE ON node_secrets
WHEN OLD.network IS NOT NULL
BEGIN
    UPDATE row_counts SET row_count = row_count - 1
        WHERE table_name = 'node_secrets@' || OLD.network;
    DELETE FROM row_counts
        WHERE table_name = 'node_secrets@' || OLD.network AND row_count <= 0;
END;
