-- What the Flashback client and installer need of nodes (docs/flashback.md): the
-- services a node offers, and which organizations' nodes make up
-- the network's public directory (GET /node).

-- Service bitmask (1 storage, 2 AI LLM, 4 chat); nodes registered before it are
-- storage bridges.
ALTER TABLE nodes ADD COLUMN node_services INTEGER NOT NULL DEFAULT 1
    CHECK (node_services BETWEEN 0 AND 2147483647);

-- Set by an operator (docs/nodes.md, "Node directory"): this organization's fresh nodes are listed publicly.
ALTER TABLE organizations ADD COLUMN network_provider INTEGER NOT NULL DEFAULT 0
    CHECK (network_provider IN (0, 1));

CREATE INDEX nodes_by_last_seen ON nodes (updated_at_ms);
