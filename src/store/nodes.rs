//! Bridge nodes and the organization keys that may sign their registrations.

use super::{changes, num, rows, storage_failure, text, Db, Route};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::nodes::signed::MAX_CANDIDATE_KEYS;
use gatehouse_core::nodes::warm::StoredState;
use serde::Deserialize;

/// An active key that may have signed a registration.
#[derive(Deserialize)]
pub struct CandidateKey {
    pub id: String,
    pub org_id: String,
    pub public_key_pem: String,
}

/// What the one read of a registration returns.
pub struct RegistrationContext {
    /// Active keys of the organization that may verify (the node's own if it is
    /// registered, else the named one), the node's current key first.
    pub keys: Vec<CandidateKey>,
    /// Whether that organization exists and is not banned.
    pub org_usable: bool,
    /// The node as stored, if it was registered before.
    pub existing: Option<ExistingNode>,
}

#[derive(Deserialize)]
pub struct ExistingNode {
    pub org_id: String,
    pub last_signed_at_ms: i64,
}

#[derive(Deserialize)]
struct OrgRow {
    banned: i64,
}

/// The organization whose keys may verify: the node's own, else `id_org` (?2).
const VERIFYING_ORG: &str = "COALESCE((SELECT org_id FROM nodes WHERE ip = ?1), ?2)";

/// One round trip (a read batch): the node, the verifying organization's standing and
/// its active keys (at most [`MAX_CANDIDATE_KEYS`], which bounds the RSA work).
/// `core::nodes::signed::verifying_org` then decides with the node row whether
/// these are the right keys at all.
pub async fn registration_context(
    db: &Db,
    node_ip: &str,
    id_org: Option<&str>,
) -> Result<RegistrationContext, Problem> {
    let what = "nodes.registration_context";
    let db = db.trip(Route::Primary, what);
    let args = [
        text(node_ip),
        text(id_org.unwrap_or("")),
        num(MAX_CANDIDATE_KEYS as i64),
    ];
    let keys = db.statement(
        &format!(
            "SELECT k.id, k.org_id, k.public_key_pem FROM org_keys k \
             WHERE k.org_id = {VERIFYING_ORG} AND k.revoked_at_ms IS NULL \
             ORDER BY k.id = (SELECT key_id FROM nodes WHERE ip = ?1) DESC, k.created_at_ms DESC \
             LIMIT ?3"
        ),
        &args,
    );
    let org = db.statement(
        &format!("SELECT banned FROM organizations WHERE id = {VERIFYING_ORG}"),
        &args[..2],
    );
    let node = db.statement(
        "SELECT org_id, last_signed_at_ms FROM nodes WHERE ip = ?1",
        &args[..1],
    );
    let results = db.batch(vec![keys, org, node]).await?;
    Ok(RegistrationContext {
        keys: rows(&results, 0, what)?,
        org_usable: rows::<OrgRow>(&results, 1, what)?
            .first()
            .is_some_and(|o| o.banned == 0),
        existing: rows(&results, 2, what)?.into_iter().next(),
    })
}

/// A node's registration as written: `?1`…`?10` of both writes, in [`NodeWrite::args`]'s
/// order (ip, provider, status, region, version, org, key, signed at, now, services).
pub struct NodeWrite<'a> {
    pub ip: &'a str,
    pub provider: &'a str,
    pub status: &'a str,
    pub region: &'a str,
    pub version: &'a str,
    pub org_id: &'a str,
    pub key_id: &'a str,
    pub node_services: u32,
    pub signed_at_ms: i64,
    pub now_ms: i64,
}

impl NodeWrite<'_> {
    fn args(&self) -> [wasm_bindgen::JsValue; 10] {
        [
            text(self.ip),
            text(self.provider),
            text(self.status),
            text(self.region),
            text(self.version),
            text(self.org_id),
            text(self.key_id),
            num(self.signed_at_ms),
            num(self.now_ms),
            num(i64::from(self.node_services)),
        ]
    }
}

/// Inserts or updates the node in one statement, only if this request's timestamp is
/// strictly newer than the last accepted one and the node stays in its organization.
/// Returns false when nothing changed: a replay (or a race lost to a newer request).
pub async fn upsert_node(db: &Db, node: &NodeWrite<'_>) -> Result<bool, Problem> {
    let what = "nodes.upsert_node";
    let db = db.trip(Route::Primary, what);
    let statement = db.statement(
        "INSERT INTO nodes (ip, provider, status, region, version, org_id, key_id, \
         last_signed_at_ms, created_at_ms, updated_at_ms, node_services) VALUES (?1, ?2, ?3, \
         ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10) ON CONFLICT (ip) DO UPDATE SET provider = \
         excluded.provider, status = excluded.status, region = excluded.region, version = \
         excluded.version, key_id = excluded.key_id, node_services = excluded.node_services, \
         last_signed_at_ms = excluded.last_signed_at_ms, updated_at_ms = \
         excluded.updated_at_ms WHERE excluded.last_signed_at_ms > nodes.last_signed_at_ms \
         AND nodes.org_id = excluded.org_id",
        &node.args(),
    );
    let results = db.batch(vec![statement]).await?;
    Ok(changes(&results, 0) > 0)
}

/// The warm registration (core::nodes::warm): one round trip that updates the node
/// only if it is still `org_id`'s, the key still active there, the organization not
/// banned and the timestamp strictly newer, then reads back what decided it. Never
/// inserts: a first registration takes the cold path. Returns (applied, state).
pub async fn update_registered(
    db: &Db,
    node: &NodeWrite<'_>,
) -> Result<(bool, StoredState), Problem> {
    let what = "nodes.update_registered";
    let db = db.trip(Route::Primary, what);
    let update = db.statement(
        "UPDATE nodes SET provider = ?2, status = ?3, region = ?4, version = ?5, key_id = ?7, \
         last_signed_at_ms = ?8, updated_at_ms = ?9, node_services = ?10 WHERE ip = ?1 AND \
         org_id = ?6 AND last_signed_at_ms < ?8 AND EXISTS (SELECT 1 FROM org_keys WHERE id = \
         ?7 AND org_id = ?6 AND revoked_at_ms IS NULL) AND EXISTS (SELECT 1 FROM \
         organizations WHERE id = ?6 AND banned = 0)",
        &node.args(),
    );
    let state = db.statement(
        "SELECT (SELECT org_id FROM nodes WHERE ip = ?1) AS node_org, \
                (SELECT last_signed_at_ms FROM nodes WHERE ip = ?1) AS last_signed_at_ms, \
                EXISTS (SELECT 1 FROM org_keys WHERE id = ?3 AND org_id = ?2 \
                        AND revoked_at_ms IS NULL) AS key_active, \
                (SELECT banned FROM organizations WHERE id = ?2) AS banned",
        &[text(node.ip), text(node.org_id), text(node.key_id)],
    );
    let results = db.batch(vec![update, state]).await?;
    let row = rows::<StateRow>(&results, 1, what)?
        .into_iter()
        .next()
        .ok_or_else(|| storage_failure(what, "no state row"))?;
    Ok((
        changes(&results, 0) > 0,
        StoredState {
            node_org: row.node_org,
            last_signed_at_ms: row.last_signed_at_ms.map(|ms| ms as i64),
            key_active: row.key_active != 0,
            org_banned: row.banned.map(|b| b != 0),
        },
    ))
}

#[derive(Deserialize)]
struct StateRow {
    node_org: Option<String>,
    last_signed_at_ms: Option<f64>,
    key_active: i64,
    banned: Option<i64>,
}

/// Removes a node of `org_id` if `signed_at_ms` is newer than its last signed request
/// (so a registration's own signature can never unregister it). Its key association
/// goes with the row. Returns false when nothing was removed.
pub async fn unregister(
    db: &Db,
    ip: &str,
    org_id: &str,
    signed_at_ms: i64,
) -> Result<bool, Problem> {
    let what = "nodes.unregister";
    let db = db.trip(Route::Primary, what);
    let results = db
        .batch(vec![db.statement(
            "DELETE FROM nodes WHERE ip = ?1 AND org_id = ?2 AND last_signed_at_ms < ?3",
            &[text(ip), text(org_id), num(signed_at_ms)],
        )])
        .await?;
    Ok(changes(&results, 0) > 0)
}

/// Removes a node of `org_id` (an organization manager's decision). False if unknown.
pub async fn delete(db: &Db, org_id: &str, ip: &str) -> Result<bool, Problem> {
    let what = "nodes.delete";
    let db = db.trip(Route::Primary, what);
    let results = db
        .batch(vec![db.statement(
            "DELETE FROM nodes WHERE ip = ?1 AND org_id = ?2",
            &[text(ip), text(org_id)],
        )])
        .await?;
    Ok(changes(&results, 0) > 0)
}

/// A node as listed (to its organization, or in the public directory).
#[derive(Deserialize)]
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

const NODE_COLUMNS: &str = "n.ip, n.provider, n.status, n.region, n.version, n.org_id, n.key_id, \
     n.node_services, n.created_at_ms, n.updated_at_ms";

pub(super) fn nodes_of_org() -> String {
    format!("SELECT {NODE_COLUMNS} FROM nodes n WHERE n.org_id = ?1 ORDER BY n.updated_at_ms DESC, n.ip")
}

pub async fn list_for_org(db: &Db, org_id: &str) -> Result<Vec<NodeRow>, Problem> {
    let what = "nodes.list_for_org";
    let db = db.trip(Route::Replica, what);
    let results = db
        .batch(vec![db.statement(&nodes_of_org(), &[text(org_id)])])
        .await?;
    rows(&results, 0, what)
}

/// The public directory: nodes of network-provider organizations in good standing,
/// seen since `seen_since_ms`, offering any of `services` (0: all), last seen first,
/// at most `limit`.
pub async fn directory(
    db: &Db,
    services: u32,
    seen_since_ms: i64,
    limit: u32,
) -> Result<Vec<NodeRow>, Problem> {
    let what = "nodes.directory";
    let db = db.trip(Route::Replica, what);
    let results = db
        .batch(vec![db.statement(&format!(
                "SELECT {NODE_COLUMNS} FROM nodes n \
                 JOIN organizations o ON o.id = n.org_id AND o.network_provider = 1 AND o.banned = 0 \
                 WHERE n.updated_at_ms >= ?1 AND (?2 = 0 OR (n.node_services & ?2) <> 0) \
                 ORDER BY n.updated_at_ms DESC, n.ip LIMIT ?3"
            ), &[num(seen_since_ms), num(i64::from(services)), num(i64::from(limit))])])
        .await?;
    rows(&results, 0, what)
}
