-- How many node ids /register_node_secret holds, so that it can stop at a bound.
-- That route takes no credentials: anyone may add node ids, each kept for
-- NODE_REMOVE_AFTER_DAYS (0020). Limited per network (60 a minute) and per IPv6 /48
-- (600), one /48 could still add ~26 million in those 30 days, ~20 GB at the 256
-- characters production allows an id: twice D1's 10 GB per database, which would stop
-- every write of every route. A new node id is now inserted only while fewer than
-- NODE_SECRETS_MAX (a million by default, ~0.8 GB at most) are held; past it, new ids
-- are refused (503) and registered ones keep working, until the sweep frees room.
--
-- Kept by the two triggers below on every insert and delete (the route, the sweep):
-- one more row written each. A later migration that rebuilds node_secrets must create
-- them again and recount (README). Retention: one row per counted table. A new table
-- and triggers: the code before this release runs on them unchanged, and its inserts
-- keep the count too (unbounded, as before, until the new code is deployed).
CREATE TABLE row_counts (
    table_name TEXT PRIMARY KEY NOT NULL,
    row_count INTEGER NOT NULL
);
INSERT INTO row_counts (table_name, row_count)
    VALUES ('node_secrets', (SELECT count(*) FROM node_secrets));
CREATE TRIGGER node_secrets_counted_in AFTER INSERT ON node_secrets
BEGIN
    UPDATE row_counts SET row_count = row_count + 1 WHERE table_name = 'node_secrets';
END;
CREATE TRIGGER node_secrets_counted_out AFTER DELETE ON node_secrets
BEGIN
    UPDATE row_counts SET row_count = row_count - 1 WHERE table_name = 'node_secrets';
END;
