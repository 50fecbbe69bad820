//! Bridge nodes and the organization keys that may sign their registrations.

use super::{changes, d1, num, rows, stmt, storage_failure, text};
use gatehouse_core::node_registration::MAX_CANDIDATE_KEYS;
use gatehouse_core::problem::Problem;
use serde::Deserialize;
use worker::Env;

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
/// `core::node_registration::verifying_org` then decides with the node row whether
/// these are the right keys at all.
pub async fn registration_context(
    env: &Env,
    node_ip: &str,
    id_org: Option<&str>,
) -> Result<RegistrationContext, Problem> {
    let db = d1(env)?;
    let what = "nodes.registration_context";
    let args = [
        text(node_ip),
        text(id_org.unwrap_or("")),
        num(MAX_CANDIDATE_KEYS as i64),
    ];
    let keys = stmt(
        &db,
        &format!(
            "SELECT k.id, k.org_id, k.public_key_pem FROM org_keys k \
             WHERE k.org_id = {VERIFYING_ORG} AND k.revoked_at_ms IS NULL \
             ORDER BY k.id = (SELECT key_id FROM nodes WHERE ip = ?1) DESC, k.created_at_ms DESC \
             LIMIT ?3"
        ),
        &args,
        what,
    )?;
    let org = stmt(
        &db,
        &format!("SELECT banned FROM organizations WHERE id = {VERIFYING_ORG}"),
        &args[..2],
        what,
    )?;
    let node = stmt(
        &db,
        "SELECT org_id, last_signed_at_ms FROM nodes WHERE ip = ?1",
        &args[..1],
        what,
    )?;
    let results = db
        .batch(vec![keys, org, node])
        .await
        .map_err(|e| storage_failure(what, e))?;
    Ok(RegistrationContext {
        keys: rows(&results, 0, what)?,
        org_usable: rows::<OrgRow>(&results, 1, what)?
            .first()
            .is_some_and(|o| o.banned == 0),
        existing: rows(&results, 2, what)?.into_iter().next(),
    })
}

pub struct NodeWrite<'a> {
    pub ip: &'a str,
    pub provider: &'a str,
    pub status: &'a str,
    pub region: &'a str,
    pub version: &'a str,
    pub org_id: &'a str,
    pub key_id: &'a str,
    pub signed_at_ms: i64,
    pub now_ms: i64,
}

/// Inserts or updates the node in one statement, only if this request's timestamp is
/// strictly newer than the last accepted one and the node stays in its organization.
/// Returns false when nothing changed: a replay (or a race lost to a newer request).
pub async fn upsert_node(env: &Env, node: &NodeWrite<'_>) -> Result<bool, Problem> {
    let db = d1(env)?;
    let what = "nodes.upsert_node";
    let statement = stmt(
        &db,
        "INSERT INTO nodes (ip, provider, status, region, version, org_id, key_id, \
                            last_signed_at_ms, created_at_ms, updated_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) \
         ON CONFLICT (ip) DO UPDATE SET provider = excluded.provider, status = excluded.status, \
             region = excluded.region, version = excluded.version, key_id = excluded.key_id, \
             last_signed_at_ms = excluded.last_signed_at_ms, updated_at_ms = excluded.updated_at_ms \
         WHERE excluded.last_signed_at_ms > nodes.last_signed_at_ms AND nodes.org_id = excluded.org_id",
        &[
            text(node.ip),
            text(node.provider),
            text(node.status),
            text(node.region),
            text(node.version),
            text(node.org_id),
            text(node.key_id),
            num(node.signed_at_ms),
            num(node.now_ms),
        ],
        what,
    )?;
    let results = db
        .batch(vec![statement])
        .await
        .map_err(|e| storage_failure(what, e))?;
    Ok(changes(&results, 0) > 0)
}

/// A node as listed to its organization.
#[derive(Deserialize)]
pub struct NodeRow {
    pub ip: String,
    pub provider: String,
    pub status: String,
    pub region: String,
    pub version: String,
    pub key_id: String,
    pub created_at_ms: f64,
    pub updated_at_ms: f64,
}

pub(super) const NODES_OF_ORG: &str =
    "SELECT ip, provider, status, region, version, key_id, created_at_ms, updated_at_ms \
     FROM nodes WHERE org_id = ?1 ORDER BY updated_at_ms DESC, ip";

pub async fn list_for_org(env: &Env, org_id: &str) -> Result<Vec<NodeRow>, Problem> {
    let db = d1(env)?;
    let what = "nodes.list_for_org";
    let results = db
        .batch(vec![stmt(&db, NODES_OF_ORG, &[text(org_id)], what)?])
        .await
        .map_err(|e| storage_failure(what, e))?;
    rows(&results, 0, what)
}
