-- Secrets registered by nodes through POST /register_node_secret.
-- Only a PHC-format PBKDF2 hash is stored, never the secret. The primary key is what
-- makes two concurrent first registrations of one node_id resolve to exactly one.
CREATE TABLE node_secrets (
    node_id       TEXT    NOT NULL PRIMARY KEY,
    secret_hash   TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL
);
