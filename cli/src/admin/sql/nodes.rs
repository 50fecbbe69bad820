//! The operator's reads of nodes: which are stale, and who has one at an address.

use super::literal;
use gatehouse_sql::least_recently_seen;

/// Nodes not seen for `offline_after_seconds` (what the worker lists as OFFLINE),
/// least recently seen first, with when the scheduled maintenance removes each
/// (`remove_after_days` after it was last seen).
pub fn stale_nodes(offline_after_seconds: u32, remove_after_days: u32, limit: u32) -> String {
    let day_ms = 86_400_000u64;
    let offline_ms = u64::from(offline_after_seconds) * 1000;
    let stale = least_recently_seen(
        "org_id, ip, status, version, updated_at_ms",
        &format!("CAST(strftime('%s', 'now') AS INTEGER) * 1000 - {offline_ms}"),
        &limit.to_string(),
    );
    format!(
        "SELECT n.org_id, o.name AS org_name, n.ip, n.status AS last_status, n.version, \
         n.updated_at_ms AS last_seen_ms, \
         n.updated_at_ms + {remove_ms} AS removal_due_ms FROM ({stale}) n \
         LEFT JOIN organizations o ON o.id = n.org_id \
         ORDER BY n.updated_at_ms, n.org_id, n.ip",
        remove_ms = u64::from(remove_after_days) * day_ms,
    )
}

/// Every organization's node at `ip` (the worker's canonical form: core's
/// `node_identity`), most recently seen first, with its organization: who an abuse
/// report or a node operator's complaint about an address is about. The address is
/// the one each node signed, which nothing compares with where its requests came from:
/// any number of organizations may name one, so at most the 100 most recently seen. A
/// range of the nodes' (ip, created_at_ms) index.
pub fn nodes_at(ip: &str) -> String {
    format!(
        "SELECT n.org_id, o.name AS org_name, o.banned, n.provider, n.status, n.region, \
         n.version, n.key_id, n.created_at_ms, n.updated_at_ms AS last_seen_ms \
         FROM nodes n LEFT JOIN organizations o ON o.id = n.org_id WHERE n.ip = {} \
         ORDER BY n.updated_at_ms DESC, n.org_id LIMIT 100",
        literal(ip)
    )
}
