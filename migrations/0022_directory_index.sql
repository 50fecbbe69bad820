-- The public directory (GET /node) lists fresh nodes of network-provider organizations
-- that are not banned, newest first, at most 500. It walked every fresh node by
-- nodes_by_last_seen and dropped those of other organizations after reading them: a
-- network whose nodes are mostly private (or one organization keeping 10,000 made-up
-- nodes fresh) made every anonymous directory read read them all. `listed` says
-- whether a node's organization is a provider in good standing, and the index below
-- puts listed nodes' last-seen times in a range of their own, so the directory reads
-- the nodes it lists and no other.
--
-- The index replaces nodes_by_last_seen instead of joining it: a heartbeat that is
-- written changes updated_at_ms, and a second index on it would cost every written
-- heartbeat one more row. The stale-node sweep reads the two ranges (listed = 0,
-- listed = 1) and merges them.
--
-- `listed` is kept by the worker's insert of a node (it sets it), by the triggers below
-- on every other insert (the code before this release, the operator's: they leave it
-- 0) and on every change of an organization's provider mark or ban (the CLI's). A
-- node's own later writes never change it.
-- The code before this release runs on this unchanged, but reads nodes by last-seen
-- without naming the listing: its directory and stale-node sweep scan the table until
-- the new code is deployed. A rollback below this release creates nodes_by_last_seen
-- again first (docs/deploying.md, "Upgrading", says how and why).
ALTER TABLE nodes ADD COLUMN listed INTEGER NOT NULL DEFAULT 0 CHECK (listed IN (0, 1));
UPDATE nodes SET listed = 1
 WHERE org_id IN (SELECT id FROM organizations WHERE network_provider = 1 AND banned = 0);
CREATE INDEX nodes_listed_by_last_seen ON nodes (listed, updated_at_ms);
DROP INDEX nodes_by_last_seen;
CREATE TRIGGER nodes_listed_in AFTER INSERT ON nodes
WHEN NEW.listed = 0 AND EXISTS (SELECT 1 FROM organizations
             WHERE id = NEW.org_id AND network_provider = 1 AND banned = 0)
BEGIN
    UPDATE nodes SET listed = 1 WHERE org_id = NEW.org_id AND ip = NEW.ip;
END;
CREATE TRIGGER organizations_listing AFTER UPDATE OF network_provider, banned ON organizations
BEGIN
    UPDATE nodes SET listed = (NEW.network_provider = 1 AND NEW.banned = 0)
     WHERE org_id = NEW.id AND listed <> (NEW.network_provider = 1 AND NEW.banned = 0);
END;
