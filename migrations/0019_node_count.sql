-- How many nodes each organization has, so that /register can refuse a new node once
-- an organization holds NODES_MAX of them (docs/nodes.md, "How many nodes"): without a
-- bound, anyone holding an organization key could add a node row per address they
-- sign for (private ranges are valid addresses), faster than the hourly sweep removes
-- stale ones, until D1's size limit stops every write. Kept by the triggers below on
-- every insert and delete (registration, unregistration, the DELETE route, the sweep,
-- the operator's erasure), so the check is one row read however large the
-- organization, where counting its nodes would read them all on each new node.
-- A column with a default and two triggers: the code before this release runs on it
-- unchanged, and its inserts and deletes keep the count too.
ALTER TABLE organizations ADD COLUMN node_count INTEGER NOT NULL DEFAULT 0;
UPDATE organizations
   SET node_count = (SELECT count(*) FROM nodes WHERE nodes.org_id = organizations.id);
CREATE TRIGGER nodes_counted_in AFTER INSERT ON nodes
BEGIN
    UPDATE organizations SET node_count = node_count + 1 WHERE id = NEW.org_id;
END;
CREATE TRIGGER nodes_counted_out AFTER DELETE ON nodes
BEGIN
    UPDATE organizations SET node_count = node_count - 1 WHERE id = OLD.org_id;
END;
