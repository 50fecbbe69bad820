//! Bridge nodes and the organization keys that may sign their registrations.
//!
//! The one seam of node storage: routes reach node rows only through these functions,
//! and every write and per-organization read names its organization, so node state
//! could be split by organization (D1 databases, or a Durable Object per organization)
//! here without touching a route (docs/nodes.md, "Past one database"). Registration
//! here; removals (unregister, an organization's deletion, tombstones) in removal.rs;
//! the lists in listing.rs.

mod listing;
mod removal;

pub use listing::{directory, list_for_org, NodeRow};
pub(super) use listing::{first_nodes_of_org, NODE_KEYS_LISTED};
pub use removal::{delete, unregister, Tombstones};

use super::db::{Statement, Trip};
use super::{changes, num, rows, storage_failure, text, Db, Route};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::nodes::signed::MAX_CANDIDATE_KEYS;
use gatehouse_core::nodes::warm::StoredState;
use std::sync::LazyLock;

gatehouse_core::d1_row! {
    /// An active key that may have signed a registration, with its organization's standing.
    pub struct CandidateKey {
        pub id: String,
        pub org_id: String,
        pub public_key_pem: String,
        /// Generated here or uploaded with a proof of possession (migration 0010).
        pub proven: i64,
        /// Whether the key's organization is banned.
        pub org_banned: i64,
    }
}

/// What the one read of a signed node request returns.
pub struct RegistrationContext {
    /// Active keys that may verify (core::nodes::signed::Candidates): the named
    /// organization's, or those of the organizations of the address's ten earliest
    /// nodes; the keys nodes at this address last used first.
    pub keys: Vec<CandidateKey>,
    /// The address's node in each candidate organization that has one.
    pub existing: Vec<ExistingNode>,
}

impl RegistrationContext {
    /// The node of `org_id` at this address, if it is registered there.
    pub fn node_of(&self, org_id: &str) -> Option<&ExistingNode> {
        self.existing.iter().find(|n| n.org_id == org_id)
    }
}

gatehouse_core::d1_row! {
    pub struct ExistingNode {
        pub org_id: String,
        /// The key that verified the node's last written registration.
        pub key_id: String,
        pub last_signed_at_ms: i64,
    }
}

/// The address's (?1) nodes a signed request may concern, earliest first: the named
/// organization's (?2), or with none named, the ten (?3) earliest there — through
/// `nodes_by_ip_and_age`, so that however many organizations put a node at the address
/// since, a request reads no more of them (migration 0021; SECURITY.md "Crowding
/// out"). The branch that does not apply reads nothing: its constant condition is
/// false before the first row.
const HERE: &str = "WITH here AS MATERIALIZED (\
     SELECT org_id, key_id, last_signed_at_ms, created_at_ms FROM nodes \
     WHERE org_id = ?2 AND ip = ?1 \
     UNION ALL SELECT * FROM (SELECT org_id, key_id, last_signed_at_ms, created_at_ms \
     FROM nodes WHERE ?2 = '' AND ip = ?1 ORDER BY created_at_ms LIMIT ?3)) ";

/// Sorts after every real time.
const NEVER: i64 = i64::MAX;

/// The candidate organizations' active keys, at most ?3: the named organization's, or
/// those of the organizations of [`HERE`]'s nodes; first the keys those nodes last used,
/// the earliest node's first (organizations that register there later cannot push an
/// earlier one's key out of the bounded search), then the newest. Through
/// `org_keys_active`, so an organization's revoked keys (kept for its audit) are never
/// read.
static CANDIDATE_KEYS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{HERE}SELECT k.id, k.org_id, k.public_key_pem, k.proven, o.banned AS org_banned \
         FROM org_keys k INDEXED BY org_keys_active JOIN organizations o ON o.id = k.org_id \
         WHERE k.revoked_at_ms IS NULL AND k.org_id IN (SELECT org_id FROM here UNION SELECT ?2) \
         ORDER BY coalesce((SELECT min(created_at_ms) FROM here WHERE here.key_id = k.id), \
         {NEVER}), k.created_at_ms DESC LIMIT ?3"
    )
});

/// [`HERE`]'s nodes: the address's node in each candidate organization that has one.
static CANDIDATE_NODES: LazyLock<String> =
    LazyLock::new(|| format!("{HERE}SELECT org_id, key_id, last_signed_at_ms FROM here"));

/// One round trip (a read batch): the candidate organizations' active keys (at most
/// [`MAX_CANDIDATE_KEYS`], which bounds the RSA work) with their standing, and the
/// address's nodes among them. Which key verifies then decides the organization.
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
    let keys = db.statement(CANDIDATE_KEYS.as_str(), &args);
    let nodes = db.statement(CANDIDATE_NODES.as_str(), &args);
    let results = db.batch(vec![keys, nodes]).await?;
    Ok(RegistrationContext {
        keys: rows(&results, 0, what)?,
        existing: rows(&results, 1, what)?,
    })
}

/// A node's registration as written: `?1`…`?13` of both writes, in [`NodeWrite::args`]'s
/// order (ip, provider, status, region, version, org, key, signed at, now, services,
/// seen resolution, `/secrets` nonce, organization signed).
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
    /// `NODE_SEEN_RESOLUTION_SECONDS` in ms: an unchanged heartbeat writes only once
    /// it was signed this long after the last written one (0: always).
    pub seen_resolution_ms: i64,
    /// The signature's nonce when the message that verified is the installer's
    /// `ip|region|timestamp`, which `POST /secrets` verifies too; `None` for a message
    /// /secrets cannot have answered. See [`SECRETS_FETCHED`].
    pub secrets_nonce: Option<&'a str>,
    /// Whether the message that verified signs the organization (the v1 form naming
    /// `id_org`: core::nodes::registration). See [`key_may_write`].
    pub org_signed: bool,
    /// `NODES_MAX`: a new node is inserted only while its organization holds fewer
    /// (`?14` of [`upsert_node`]'s write alone).
    pub nodes_max: u32,
}

impl NodeWrite<'_> {
    fn args(&self) -> [super::Arg; 13] {
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
            num(self.seen_resolution_ms),
            text(self.secrets_nonce.unwrap_or("")),
            num(i64::from(self.org_signed)),
        ]
    }
}

/// Over [`NodeWrite::args`]: the stored row (`nodes.`) already holds every field of
/// the request, and its last written request was signed less than the resolution
/// before this one, so writing would change nothing a reader needs (core::nodes::warm,
/// docs/nodes.md "Writes only on change"). Signed times, not the worker's clock: a
/// replay of a heartbeat that was unchanged stays unchanged (the stored signed time
/// only grows), so it can never refresh the last-seen either (SECURITY.md, "Threat model", Replay).
const UNCHANGED: &str = "(?11 > 0 AND nodes.provider IS ?2 AND nodes.status IS ?3 AND \
     nodes.region IS ?4 AND nodes.version IS ?5 AND nodes.key_id IS ?7 AND \
     nodes.node_services IS ?10 AND nodes.last_signed_at_ms > ?8 - ?11)";

/// Over [`NodeWrite::args`]: `POST /secrets` already answered this signature (`?12`, its
/// nonce; empty when the message is not one /secrets verifies). The two routes share the
/// KV nonce, but KV may not have reached this location yet and `REPLAY_NONCES=d1` has
/// none: without this a captured /secrets body, its unsigned fields chosen by whoever
/// sends it, would register the node (SECURITY.md, "Threat model", Replay).
const SECRETS_FETCHED: &str =
    "(?12 <> '' AND EXISTS (SELECT 1 FROM secrets_fetches WHERE nonce = ?12))";

/// Over [`NodeWrite::args`]: the key (`?7`) may write the node whose stored key is
/// `stored_key` (an SQL expression; NULL for a new node). A message that signs the
/// organization (`?13`) may always; one that does not (the installer's, or the v1 form
/// without `id_org`) only with a key generated here or uploaded with a proof, or with
/// the key that wrote the node last — which an unproven key can only have done with a
/// message that signs the organization. Else a copy of someone's public key, uploaded
/// unproven, would move the owner's heartbeats (sent without `id_org`, or re-sent
/// naming the copier's organization) onto the copier's node at the address
/// (SECURITY.md's "Key copying" row). Checked at write time, like [`signer_usable`].
fn key_may_write(stored_key: &str) -> String {
    format!(
        "(?13 = 1 OR {stored_key} IS ?7 OR \
         EXISTS (SELECT 1 FROM org_keys WHERE id = ?7 AND proven = 1))"
    )
}

/// At write time, key `key` is active in organization `org` and `org` is not banned
/// (SQL parameters, e.g. `?7`, `?6`): every node write's own check, so a revocation or
/// ban that lands after the request's read still stops the write.
fn signer_usable(key: &str, org: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM org_keys WHERE id = {key} AND org_id = {org} AND \
         revoked_at_ms IS NULL) AND EXISTS (SELECT 1 FROM organizations WHERE id = {org} \
         AND banned = 0)"
    )
}

/// [`upsert_node`]'s write, built once per isolate (it runs on every cold registration).
/// A new node is `listed` (the public directory's, migration 0022) when its organization
/// is a network provider: it is not banned, or nothing is inserted. Setting it here
/// spares the trigger that lists other inserts a second write of the row.
static UPSERT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO nodes (ip, provider, status, region, version, org_id, key_id, \
         last_signed_at_ms, created_at_ms, updated_at_ms, node_services, listed) SELECT ?1, \
         ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, (SELECT network_provider = 1 FROM \
         organizations WHERE id = ?6) WHERE {} AND NOT EXISTS (SELECT 1 FROM node_tombstones \
         WHERE org_id = ?6 AND ip = ?1 AND last_signed_at_ms >= ?8) AND NOT {SECRETS_FETCHED} \
         AND {} AND (EXISTS (SELECT 1 FROM nodes WHERE org_id = ?6 AND ip = ?1) OR \
         (SELECT node_count FROM organizations WHERE id = ?6) < ?14) \
         ON CONFLICT (org_id, ip) DO \
         UPDATE SET provider = excluded.provider, status = excluded.status, region = \
         excluded.region, version = excluded.version, key_id = excluded.key_id, node_services \
         = excluded.node_services, last_signed_at_ms = excluded.last_signed_at_ms, \
         updated_at_ms = excluded.updated_at_ms WHERE excluded.last_signed_at_ms > \
         nodes.last_signed_at_ms AND NOT {UNCHANGED}",
        signer_usable("?7", "?6"),
        // Before the conflict is found, so the stored key is read here; the update
        // then meets the same row.
        key_may_write("(SELECT key_id FROM nodes WHERE org_id = ?6 AND ip = ?1)")
    )
});

/// [`update_registered`]'s write, built once per isolate (it runs on every heartbeat).
static UPDATE_REGISTERED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE nodes SET provider = ?2, status = ?3, region = ?4, version = ?5, \
         key_id = ?7, last_signed_at_ms = ?8, updated_at_ms = ?9, node_services = ?10 \
         WHERE org_id = ?6 AND ip = ?1 AND last_signed_at_ms < ?8 AND {} AND {} AND NOT \
         {UNCHANGED} AND NOT {SECRETS_FETCHED}",
        signer_usable("?7", "?6"),
        key_may_write("key_id")
    )
});

/// [`stored_state`]'s read-back, built once per isolate.
static STORED_STATE: LazyLock<String> = LazyLock::new(|| {
    // The node's row and its organization's, each read once (joined to one constant
    // row, so that absent ones read as NULL).
    format!(
        "SELECT nodes.org_id AS node_org, \
            max(coalesce(nodes.last_signed_at_ms, 0), \
                coalesce((SELECT last_signed_at_ms FROM node_tombstones \
                          WHERE org_id = ?6 AND ip = ?1), 0)) AS last_signed_at_ms, \
            EXISTS (SELECT 1 FROM org_keys WHERE id = ?7 AND org_id = ?6 \
                    AND revoked_at_ms IS NULL) AS key_active, \
            o.banned AS banned, coalesce(o.node_count, 0) AS org_nodes, \
            coalesce(nodes.org_id IS NOT NULL AND {UNCHANGED}, 0) AS unchanged, \
            {SECRETS_FETCHED} AS secrets_fetched, \
            NOT {} AS key_unproven_here \
         FROM (SELECT 1) LEFT JOIN organizations o ON o.id = ?6 \
         LEFT JOIN nodes ON nodes.org_id = ?6 AND nodes.ip = ?1",
        key_may_write("nodes.key_id")
    )
});

/// Inserts or updates the node in one batch, only if, at write time, the key is still
/// active in the organization, the organization not banned, and this request's
/// timestamp strictly newer than the node's last accepted one and than its tombstone
/// (a removed node), a new node only while the organization holds fewer than
/// `NODES_MAX` (its `node_count`, kept by migration 0019's triggers: one row read),
/// and an existing row only if it changes ([`UNCHANGED`]); then reads back what
/// decided it, as the warm write does. Returns (applied, state).
pub async fn upsert_node(db: &Db, node: &NodeWrite<'_>) -> Result<(bool, StoredState), Problem> {
    let what = "nodes.upsert_node";
    let db = db.trip(Route::Primary, what);
    let mut args = node.args().to_vec();
    args.push(num(i64::from(node.nodes_max)));
    let upsert = db.statement(UPSERT.as_str(), &args);
    let results = db.batch(vec![upsert, stored_state(&db, node)]).await?;
    Ok((changes(&results, 0) > 0, state_of(&results, 1, what)?))
}

/// The warm registration (core::nodes::warm): one round trip that updates the node
/// only if it is still `org_id`'s, the key still active there, the organization not
/// banned, the timestamp strictly newer and the row changes ([`UNCHANGED`]), then
/// reads back what decided it. Never inserts: a first registration takes the cold
/// path. Returns (applied, state).
pub async fn update_registered(
    db: &Db,
    node: &NodeWrite<'_>,
) -> Result<(bool, StoredState), Problem> {
    let what = "nodes.update_registered";
    let db = db.trip(Route::Primary, what);
    let update = db.statement(UPDATE_REGISTERED.as_str(), &node.args());
    let results = db.batch(vec![update, stored_state(&db, node)]).await?;
    Ok((changes(&results, 0) > 0, state_of(&results, 1, what)?))
}

/// Reads back, after a conditional node write in the same batch, what decided it.
fn stored_state(db: &Trip<'_>, node: &NodeWrite<'_>) -> Statement {
    db.statement(STORED_STATE.as_str(), &node.args())
}

fn state_of(
    results: &[super::StatementResult],
    i: usize,
    what: &str,
) -> Result<StoredState, Problem> {
    let row = rows::<StateRow>(results, i, what)?
        .into_iter()
        .next()
        .ok_or_else(|| storage_failure(what, "no state row"))?;
    Ok(StoredState {
        node_org: row.node_org,
        last_signed_at_ms: Some(row.last_signed_at_ms as i64).filter(|&ms| ms > 0),
        key_active: row.key_active != 0,
        org_banned: row.banned.map(|b| b != 0),
        unchanged: row.unchanged != 0,
        secrets_fetched: row.secrets_fetched != 0,
        key_unproven_here: row.key_unproven_here != 0,
        org_nodes: row.org_nodes as i64,
    })
}

gatehouse_core::d1_row! {
    struct StateRow {
        node_org: Option<String>,
        last_signed_at_ms: f64,
        key_active: i64,
        banned: Option<i64>,
        unchanged: i64,
        secrets_fetched: i64,
        key_unproven_here: i64,
        org_nodes: f64,
    }
}
