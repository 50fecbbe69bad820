//! Service environments (migration 0013): the sealed env files organizations set for
//! their nodes' services, and the signatures `POST /secrets` has answered.

use super::nodes::CandidateKey;
use super::org_changes::{
    actor_may_change, actor_read, budget_read, owners, owners_read, room_for_change, spent,
    stopped, Actor, Recipient, Stopped,
};
use super::{changes, num, number_of, rows, storage_failure, text, text_of, Db, Route};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::nodes::signed::MAX_CANDIDATE_KEYS;
use serde_json::Value;

/// One round trip: the named organization's active keys (at most
/// [`MAX_CANDIDATE_KEYS`], which bounds the RSA work of an unauthenticated request),
/// with its standing. On the primary: a key revoked a moment ago must not verify.
pub async fn signing_keys(db: &Db, org_id: &str) -> Result<Vec<CandidateKey>, Problem> {
    let what = "node_env.signing_keys";
    let db = db.trip(Route::Primary, what);
    let keys = db.statement(
        "SELECT k.id, k.org_id, k.public_key_pem, k.proven, \
         (SELECT banned FROM organizations o WHERE o.id = k.org_id) AS org_banned \
         FROM org_keys k WHERE k.org_id = ?1 AND k.revoked_at_ms IS NULL \
         ORDER BY k.created_at_ms DESC LIMIT ?2",
        &[text(org_id), num(MAX_CANDIDATE_KEYS as i64)],
    );
    let results = db.batch(vec![keys]).await?;
    rows(&results, 0, what)
}

/// A sealed env file as stored.
pub struct SealedEnv {
    pub service: String,
    pub sealed: String,
}

// The rows below are read as `serde_json::Value` and picked apart by hand
// (super::text_of and number_of say why).

/// What claiming a verified `/secrets` signature found.
pub enum Claim {
    /// First use: the organization's sealed environments.
    Claimed(Vec<SealedEnv>),
    /// Already answered (the KV nonce had not reached this location yet).
    Replay,
    /// Since the keys were read: the key was revoked, or the organization banned.
    KeyRevoked,
    OrgUnusable,
}

// D1 wants exactly as many bound values as a statement's highest `?N`: each statement
// gets the prefix of the arguments it uses.

/// One round trip (a write batch on the primary): expired claims go (up to 20), the
/// signature is claimed if its key is still active in an organization not banned, and
/// the organization's environments are read in the same transaction.
pub async fn claim_and_read(
    db: &Db,
    nonce: &str,
    org_id: &str,
    key_id: &str,
    now_ms: i64,
    expires_at_ms: i64,
) -> Result<Claim, Problem> {
    let what = "node_env.claim_and_read";
    let db = db.trip(Route::Primary, what);
    let args = [
        text(nonce),
        text(org_id),
        text(key_id),
        num(now_ms),
        num(expires_at_ms),
    ];
    let usable = "EXISTS (SELECT 1 FROM org_keys WHERE id = ?3 AND org_id = ?2 AND \
         revoked_at_ms IS NULL) AND EXISTS (SELECT 1 FROM organizations WHERE id = ?2 AND \
         banned = 0)";
    let statements = vec![
        db.statement(
            "DELETE FROM secrets_fetches WHERE rowid IN (SELECT rowid FROM secrets_fetches \
             WHERE expires_at_ms < ?1 ORDER BY expires_at_ms LIMIT 20)",
            &[num(now_ms)],
        ),
        db.statement(
            format!(
                "INSERT OR IGNORE INTO secrets_fetches (nonce, expires_at_ms) \
                 SELECT ?1, ?5 WHERE {usable}"
            ),
            &args,
        ),
        db.statement(
            "SELECT EXISTS (SELECT 1 FROM org_keys WHERE id = ?3 AND org_id = ?2 AND \
             revoked_at_ms IS NULL) AS key_active, \
             (SELECT banned FROM organizations WHERE id = ?2) AS banned",
            &args[..3],
        ),
        db.statement(
            "SELECT service, sealed FROM node_envs WHERE org_id = ?2",
            &args[..2],
        ),
    ];
    let results = db.batch(statements).await?;
    if changes(&results, 1) == 0 {
        let standing: Vec<Value> = rows(&results, 2, what)?;
        let standing = standing
            .first()
            .ok_or_else(|| storage_failure(what, "no standing row"))?;
        return Ok(if number_of(standing, "banned") != Some(0) {
            Claim::OrgUnusable
        } else if number_of(standing, "key_active") == Some(0) {
            Claim::KeyRevoked
        } else {
            Claim::Replay
        });
    }
    let sealed: Vec<Value> = rows(&results, 3, what)?;
    Ok(Claim::Claimed(
        sealed
            .iter()
            .map(|row| SealedEnv {
                service: text_of(row, "service"),
                sealed: text_of(row, "sealed"),
            })
            .collect(),
    ))
}

/// A service's environment as listed (never its contents).
pub struct EnvRow {
    pub service: String,
    pub size_bytes: i64,
    pub updated_at_ms: i64,
}

/// The organization's environments; a replica may be a moment stale, which a list
/// accepts (the caller's bookmark makes it read its own writes).
pub async fn list(db: &Db, org_id: &str) -> Result<Vec<EnvRow>, Problem> {
    let what = "node_env.list";
    let db = db.trip(Route::Replica, what);
    let list = db.statement(
        "SELECT service, size_bytes, updated_at_ms FROM node_envs WHERE org_id = ?1 \
         ORDER BY CASE service WHEN 's3' THEN 0 WHEN 'gcs' THEN 1 ELSE 2 END",
        &[text(org_id)],
    );
    let results = db.batch(vec![list]).await?;
    let listed: Vec<Value> = rows(&results, 0, what)?;
    Ok(listed
        .iter()
        .map(|row| EnvRow {
            service: text_of(row, "service"),
            size_bytes: number_of(row, "size_bytes").unwrap_or_default(),
            updated_at_ms: number_of(row, "updated_at_ms").unwrap_or_default(),
        })
        .collect())
}

/// Who changes an environment, and the audit row's id.
pub struct Change<'a> {
    pub org_id: &'a str,
    pub service: &'a str,
    /// The signed-in OWNER or ADMINISTRATOR (operators' changes are written by
    /// gatehouse-cli, with no user).
    pub actor: Actor<'a>,
    pub audit_id: &'a str,
    pub now_ms: i64,
}

impl Change<'_> {
    /// ?1 organization, ?2 service, ?3 actor, ?4 audit id, ?5 now, ?6 the actor's
    /// sign-in: the same places in every statement of a change.
    fn args(&self) -> [super::Arg; 6] {
        [
            text(self.org_id),
            text(self.service),
            text(self.actor.user_id),
            text(self.audit_id),
            num(self.now_ms),
            text(self.actor.sign_in),
        ]
    }
}

/// What setting an environment did.
pub enum Put {
    /// Stored; the organization's other OWNERs, to be told.
    Stored { owners: Vec<Recipient> },
    /// The caller may no longer change it (org_changes::actor_may_change).
    Stopped(Stopped),
    /// Its day's changes are spent (core::org_changes); retry after this many seconds.
    ChangesSpent { retry_after_seconds: u32 },
}

/// Sets (or replaces) a service's sealed environment, with its audit row, in one
/// atomic batch; only while the caller may still change the organization (not banned,
/// still OWNER or ADMINISTRATOR) and it has changes left today.
pub async fn put(
    db: &Db,
    change: &Change<'_>,
    sealed: &str,
    size_bytes: usize,
) -> Result<Put, Problem> {
    let what = "node_env.put";
    let db = db.trip(Route::Primary, what);
    let mut args = change.args().to_vec();
    args.extend([text(sealed), num(size_bytes as i64)]);
    let upsert = db.statement(
        format!(
            "INSERT INTO node_envs (org_id, service, sealed, size_bytes, updated_at_ms) \
             SELECT ?1, ?2, ?7, ?8, ?5 WHERE {} AND {} ON CONFLICT (org_id, service) \
             DO UPDATE SET sealed = excluded.sealed, size_bytes = excluded.size_bytes, \
             updated_at_ms = excluded.updated_at_ms",
            actor_may_change("?1", "?3", "?6"),
            room_for_change("?1", "?5")
        ),
        &args,
    );
    let audit = db.statement(
        "INSERT INTO key_audit (id, org_id, key_id, actor_user_id, action, at_ms) \
         SELECT ?4, ?1, ?2, ?3, 'ENV_SET', ?5 WHERE EXISTS (SELECT 1 FROM node_envs \
         WHERE org_id = ?1 AND service = ?2 AND updated_at_ms = ?5 AND sealed = ?7)",
        &args[..7],
    );
    let budget = budget_read(&db, change.org_id, change.now_ms);
    let owners_of = owners_read(&db, change.org_id, change.actor.user_id);
    let actor = actor_read(&db, change.org_id, change.actor);
    let results = db
        .batch(vec![upsert, audit, budget, owners_of, actor])
        .await?;
    if changes(&results, 0) > 0 {
        return Ok(Put::Stored {
            owners: owners(&results, 3, what)?,
        });
    }
    if let Some(stopped) = stopped(&results, 4, what)? {
        return Ok(Put::Stopped(stopped));
    }
    match spent(&results, 2, change.now_ms, what)? {
        Some(retry_after_seconds) => Ok(Put::ChangesSpent {
            retry_after_seconds,
        }),
        None => Err(storage_failure(what, "refused by no rule")),
    }
}

/// Removes a service's environment, with its audit row, in one atomic batch, while the
/// caller may still change the organization. `Ok(false)`: there was none.
pub async fn delete(db: &Db, change: &Change<'_>) -> Result<Result<bool, Stopped>, Problem> {
    let what = "node_env.delete";
    let db = db.trip(Route::Primary, what);
    let args = change.args();
    let audit = db.statement(
        format!(
            "INSERT INTO key_audit (id, org_id, key_id, actor_user_id, action, at_ms) \
             SELECT ?4, ?1, ?2, ?3, 'ENV_DELETE', ?5 WHERE EXISTS \
             (SELECT 1 FROM node_envs WHERE org_id = ?1 AND service = ?2) AND {}",
            actor_may_change("?1", "?3", "?6")
        ),
        &args,
    );
    let delete = db.statement(
        "DELETE FROM node_envs WHERE org_id = ?1 AND service = ?2 \
         AND EXISTS (SELECT 1 FROM key_audit WHERE id = ?4)",
        &args[..4],
    );
    let actor = actor_read(&db, change.org_id, change.actor);
    let results = db.batch(vec![audit, delete, actor]).await?;
    Ok(match stopped(&results, 2, what)? {
        Some(stopped) => Err(stopped),
        None => Ok(changes(&results, 1) > 0),
    })
}
