//! Listing nodes: an organization's own, and the public directory.

use crate::store::{num, number_of, rows, text, Db, Route};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::nodes::listing::{NodePage, NODES_PAGE_MAX};
use serde_json::Value;

gatehouse_core::d1_row! {
    /// A node as listed (to its organization, or in the public directory).
    pub struct NodeRow {
        pub ip: String,
        pub provider: String,
        pub status: String,
        pub region: String,
        pub version: String,
        pub org_id: String,
        pub key_id: String,
        pub node_services: f64,
        pub created_at_ms: f64,
        pub updated_at_ms: f64,
    }
}

const NODE_COLUMNS: &str = "n.ip, n.provider, n.status, n.region, n.version, n.org_id, n.key_id, \
     n.node_services, n.created_at_ms, n.updated_at_ms";

/// The organization `?1`'s first nodes by address after `?2` (`''`: from the first),
/// at most `?3`: a range of the table's key, so no other row is read.
const NODES_BY_ADDRESS: &str =
    "FROM nodes n WHERE n.org_id = ?1 AND n.ip > ?2 ORDER BY n.ip LIMIT ?3";

/// The organization's first nodes by address (at most a page): those `GET …/key`
/// names in `nodeKeys`.
pub(in crate::store) fn first_nodes_of_org() -> String {
    format!("SELECT {NODE_COLUMNS} {NODES_BY_ADDRESS}")
}

/// A page of the organization's nodes by address, one more than `page.limit` when more
/// follow (core::nodes::listing), last seen first (sorted by SQLite, which a page's
/// thousand rows cost a moment; a sort in the worker cost ~9 KB of wasm), and how many
/// nodes it has in all (its `node_count`, which triggers keep: migration 0019). One
/// round trip.
pub async fn list_for_org(
    db: &Db,
    org_id: &str,
    page: &NodePage,
) -> Result<(Vec<NodeRow>, u64), Problem> {
    let what = "nodes.list_for_org";
    let db = db.trip(Route::Replica, what);
    let after = page.after.as_deref().unwrap_or("");
    let nodes = db.statement(
        format!(
            "SELECT * FROM ({}) ORDER BY updated_at_ms DESC, ip",
            first_nodes_of_org()
        ),
        &[text(org_id), text(after), num(i64::from(page.limit) + 1)],
    );
    let total = db.statement(
        "SELECT node_count FROM organizations WHERE id = ?1",
        &[text(org_id)],
    );
    let results = db.batch(vec![nodes, total]).await?;
    let total = rows::<Value>(&results, 1, what)?
        .first()
        .and_then(|row| number_of(row, "node_count"))
        .unwrap_or(0) as u64;
    Ok((rows(&results, 0, what)?, total))
}

/// The bound of `GET …/key`'s `nodeKeys`, as of one page of the node list.
pub(in crate::store) const NODE_KEYS_LISTED: u32 = NODES_PAGE_MAX;

/// The public directory: nodes of network-provider organizations in good standing,
/// seen since `seen_since_ms`, offering any of `services` (0: all), last seen first,
/// at most `limit`. Read from the listed nodes' own range of
/// `nodes_listed_by_last_seen` (migration 0022): no other organization's node is read,
/// however many there are. The join checks the organization once more.
pub async fn directory(
    db: &Db,
    services: u32,
    seen_since_ms: i64,
    limit: u32,
) -> Result<Vec<NodeRow>, Problem> {
    let what = "nodes.directory";
    let db = db.trip(Route::Replica, what);
    let results = db
        .batch(vec![db.statement(format!(
                "SELECT {NODE_COLUMNS} FROM nodes n INDEXED BY nodes_listed_by_last_seen \
                 JOIN organizations o ON o.id = n.org_id AND o.network_provider = 1 AND o.banned = 0 \
                 WHERE n.listed = 1 AND n.updated_at_ms >= ?1 \
                 AND (?2 = 0 OR (n.node_services & ?2) <> 0) \
                 ORDER BY n.updated_at_ms DESC, n.ip LIMIT ?3"
            ), &[num(seen_since_ms), num(i64::from(services)), num(i64::from(limit))])])
        .await?;
    rows(&results, 0, what)
}
