//! Removing nodes: a node's own signed unregistration and an organization manager's
//! deletion, each leaving a tombstone at the node's last signed time so that no
//! captured earlier registration brings it back, and the tombstones' own retention.

use super::signer_usable;
use crate::store::db::{Statement, Trip};
use crate::store::org_changes::{actor_may_change, actor_read, stopped, Actor, Stopped};
use crate::store::{changes, num, text, Db, Route};
use gatehouse_core::http::problem::Problem;

/// Removes `org_id`'s node at `ip` if `signed_at_ms` is newer than its last written
/// signed request (so no earlier registration's state can be removed by an older
/// request) and, at write time, the signing key `key_id` is still active there and the
/// organization not banned (as a registration's write checks: a revocation or ban that
/// lands after the request's read still stops it), leaving a tombstone at
/// `signed_at_ms`: no registration signed before the removal can bring it back. Its
/// key association goes with the row. Returns false when nothing was removed.
pub async fn unregister(
    db: &Db,
    ip: &str,
    org_id: &str,
    key_id: &str,
    signed_at_ms: i64,
    retention: &Tombstones,
) -> Result<bool, Problem> {
    let what = "nodes.unregister";
    let db = db.trip(Route::Primary, what);
    let args = [
        text(org_id),
        text(ip),
        num(signed_at_ms),
        num(retention.now_ms),
        text(key_id),
    ];
    let condition = format!(
        "org_id = ?1 AND ip = ?2 AND last_signed_at_ms < ?3 AND {}",
        signer_usable("?5", "?1")
    );
    let statements = vec![
        db.statement(tombstone("?3", &condition, "?4"), &args),
        db.statement(format!("DELETE FROM nodes WHERE {condition}"), &args),
        sweep_tombstones(&db, retention),
    ];
    let results = db.batch(statements).await?;
    Ok(changes(&results, 1) > 0)
}

/// Removes a node of `org_id` (an organization manager's decision), leaving a
/// tombstone at its last signed timestamp, while `actor` may still change the
/// organization (org_changes::actor_may_change). `Ok(false)`: no such node.
pub async fn delete(
    db: &Db,
    org_id: &str,
    ip: &str,
    actor: Actor<'_>,
    retention: &Tombstones,
) -> Result<Result<bool, Stopped>, Problem> {
    let what = "nodes.delete";
    let db = db.trip(Route::Primary, what);
    let condition = format!(
        "org_id = ?1 AND ip = ?2 AND {}",
        actor_may_change("?1", "?4", "?5")
    );
    let args = [
        text(org_id),
        text(ip),
        num(retention.now_ms),
        text(actor.user_id),
        text(actor.sign_in),
    ];
    let statements = vec![
        db.statement(
            // At least now: a heartbeat the node sent unchanged (unwritten, so newer
            // than the row's last signed time) must not bring the node back if replayed.
            tombstone("max(last_signed_at_ms, ?3)", &condition, "?3"),
            &args,
        ),
        db.statement(format!("DELETE FROM nodes WHERE {condition}"), &args),
        sweep_tombstones(&db, retention),
        actor_read(&db, org_id, actor),
    ];
    let results = db.batch(statements).await?;
    Ok(match stopped(&results, 3, what)? {
        Some(stopped) => Err(stopped),
        None => Ok(changes(&results, 1) > 0),
    })
}

/// When tombstones are written and how long they matter: a removed node's tombstone
/// refuses captured registrations for as long as one could still be fresh.
pub struct Tombstones {
    pub now_ms: i64,
    pub retention_ms: i64,
}

/// Records the tombstone of the node `condition` selects at the timestamp `signed`,
/// removed at `removed_at` (SQL expressions); a later removal only ever raises it.
fn tombstone(signed: &str, condition: &str, removed_at: &str) -> String {
    format!(
        "INSERT INTO node_tombstones (org_id, ip, last_signed_at_ms, removed_at_ms) \
         SELECT org_id, ip, {signed}, {removed_at} FROM nodes WHERE {condition} ON CONFLICT (org_id, ip) \
         DO UPDATE SET last_signed_at_ms = max(last_signed_at_ms, excluded.last_signed_at_ms), \
         removed_at_ms = excluded.removed_at_ms"
    )
}

/// Deletes up to 20 tombstones past their retention (no request signed before them
/// can still be fresh): every removal cleans up after earlier ones.
fn sweep_tombstones(db: &Trip<'_>, retention: &Tombstones) -> Statement {
    db.statement(
        "DELETE FROM node_tombstones WHERE rowid IN (SELECT rowid FROM node_tombstones \
         WHERE removed_at_ms < ?1 LIMIT 20)",
        &[num(retention.now_ms - retention.retention_ms)],
    )
}
