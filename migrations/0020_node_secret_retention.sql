-- node_secrets had no retention: a row per node id ever registered, kept for good,
-- while /register_node_secret takes no credentials, so anyone may add node ids at the
-- node limiter's pace. A node id now goes NODE_REMOVE_AFTER_DAYS after it was first
-- registered or a secret was last compared with it, as a silent node does; the
-- scheduled maintenance deletes it by seen_at_ms, oldest first (the index below).
-- Expand only: the code before this release inserts without seen_at_ms (0, the
-- default), which the sweep tells apart by created_at_ms (it deletes only rows whose
-- created_at_ms is past the cutoff too), and reads nothing new.
ALTER TABLE node_secrets ADD COLUMN seen_at_ms INTEGER NOT NULL DEFAULT 0;
-- Every node id registered before this release gets a whole period from the upgrade:
-- when its node last registered again was never recorded.
UPDATE node_secrets SET seen_at_ms = CAST(strftime('%s', 'now') AS INTEGER) * 1000;
CREATE INDEX node_secrets_by_seen ON node_secrets (seen_at_ms);
