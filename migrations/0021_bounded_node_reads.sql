-- A signed node request that names no organization is verified against the keys of
-- the organizations with a node at its address. Before this release that read took
-- every such organization's keys and ordered them by a walk of every node at the
-- address, per key: N organizations at one address cost N² rows, before any
-- signature was checked, for anyone sending a random one (1,000 organizations, a
-- million rows; SECURITY.md "Crowding out"). It now takes the address's ten earliest
-- nodes and their organizations' keys only, which this index gives in order without
-- reading the rest. It covers every lookup by address the old one served.
CREATE INDEX nodes_by_ip_and_age ON nodes (ip, created_at_ms);
DROP INDEX nodes_by_ip;
