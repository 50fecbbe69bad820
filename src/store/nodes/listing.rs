//! Listing nodes: an organization's own, and the public directory.

use crate::store::{num, rows, text, Db, Route};
use gatehouse_core::http::problem::Problem;

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

pub(in crate::store) fn nodes_of_org() -> String {
    format!("SELECT {NODE_COLUMNS} FROM nodes n WHERE n.org_id = ?1 ORDER BY n.updated_at_ms DESC, n.ip")
}

pub async fn list_for_org(db: &Db, org_id: &str) -> Result<Vec<NodeRow>, Problem> {
    let what = "nodes.list_for_org";
    let db = db.trip(Route::Replica, what);
    let results = db
        .batch(vec![db.statement(nodes_of_org(), &[text(org_id)])])
        .await?;
    rows(&results, 0, what)
}

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
