//! The SQL of the node-id commands: the networks that registered the most node ids
//! (`admin stats`, from migration 0029's counts) and the removal of one network's.

use super::literal;

/// The ten networks whose node ids are the most, from their counts in `row_counts`
/// (one row a network: a read of that table, not of the node ids).
pub fn top_node_secret_networks() -> String {
    "SELECT substr(table_name, 14) AS network, row_count AS nodeIds FROM row_counts \
     WHERE substr(table_name, 1, 13) = 'node_secrets@' ORDER BY row_count DESC, table_name \
     LIMIT 10"
        .to_owned()
}

/// How many node ids `network` holds, from its count (0029's triggers keep it).
pub fn node_secrets_of(network: &str) -> String {
    format!(
        "SELECT coalesce((SELECT row_count FROM row_counts WHERE table_name = {}), 0) \
         AS nodeIds",
        literal(&format!("node_secrets@{network}"))
    )
}

/// How many node ids `network` registered, then their removal: one transaction, a
/// scan of the table (no index is kept for this rare command). The triggers of 0028
/// and 0029 count them out.
pub fn purge_node_secrets(network: &str) -> String {
    let network = literal(network);
    format!(
        "SELECT count(*) AS nodeIds FROM node_secrets WHERE network = {network}; \
         DELETE FROM node_secrets WHERE network = {network}"
    )
}
