//! Organization keys managed through the API, with their audit trail.

use super::nodes::{first_nodes_of_org, NodeRow, NODE_KEYS_LISTED};
use super::org_changes::{
    actor_may_change, actor_read, budget_read, owners, owners_read, recipients, room_for_change,
    spent, stopped, Actor, Recipient, Stopped, OWNERS_TOLD,
};
use super::{changes, num, rows, storage_failure, text, text_of, Db, Route};
use gatehouse_core::http::problem::Problem;
use serde_json::Value;

pub struct NewKey<'a> {
    pub id: &'a str,
    pub org_id: &'a str,
    pub public_key_pem: &'a str,
    pub bits: usize,
    /// Generated here, or uploaded with a proof of possession (core::org_keys).
    pub proven: bool,
    /// The signed-in OWNER or ADMINISTRATOR adding it.
    pub actor: Actor<'a>,
    pub audit_id: &'a str,
    pub now_ms: i64,
    pub max_active: u32,
}

pub enum Insert {
    /// Stored; the organization's other OWNERs, to be told, and the copy it superseded
    /// in another organization, if any.
    Stored {
        owners: Vec<Recipient>,
        superseded: Option<Superseded>,
    },
    Refused(Refusal),
}

/// An unproven copy of the key, in another organization, that a proven upload revoked
/// (at most one: an active key is in one organization), and that organization's
/// OWNERs, to be told (core::account::notices::Notice::KeyProvenElsewhere).
pub struct Superseded {
    pub org_id: String,
    pub key_id: String,
    pub owners: Vec<Recipient>,
}

/// Why a key was not stored.
pub enum Refusal {
    /// The organization already has `max_active` active keys.
    QuotaFull,
    /// The key is active in this organization already, or active in another one and
    /// this upload does not prove possession over an unproven copy there.
    KeyExists,
    /// The organization has made its day's changes (core::org_changes); retry after
    /// this many seconds.
    ChangesSpent { retry_after_seconds: u32 },
    /// The caller may no longer add keys (org_changes::actor_may_change).
    Stopped(Stopped),
}

gatehouse_core::d1_row! {
    struct KeyTaken {
        taken: i64,
    }
}

/// An active row of `org_keys` with this PEM (?3) that stops organization ?2 from
/// adding it (?7: whether this upload is proven): one in ?2 itself, or one elsewhere
/// unless this upload is proven and that copy is not. Revoked rows never stop anyone:
/// a key is its holder's to use again.
const KEY_TAKEN: &str = "SELECT 1 FROM org_keys WHERE public_key_pem = ?3 \
     AND revoked_at_ms IS NULL AND (org_id = ?2 OR proven = 1 OR ?7 = 0)";

/// Whether organization ?2 has room for a key at ?5 from its member ?9 signed in with
/// ?10: fewer than ?6 active keys, changes left today, and ?9 still one who may add
/// keys.
fn room_for_key() -> String {
    format!(
        "(SELECT count(*) FROM org_keys WHERE org_id = ?2 AND revoked_at_ms IS NULL) < ?6 \
         AND {} AND {}",
        room_for_change("?2", "?5"),
        actor_may_change("?2", "?9", "?10")
    )
}

/// Unproven active copies elsewhere that a proven upload (?7) supersedes, while the
/// organization has room for the key (`room`: [`room_for_key`]).
fn superseded(room: &str) -> String {
    format!(
        "FROM org_keys WHERE public_key_pem = ?3 AND revoked_at_ms IS NULL \
         AND org_id <> ?2 AND proven = 0 AND ?7 = 1 AND {room}"
    )
}

/// In one batch: revokes unproven copies a proven upload supersedes (audited in their
/// organization with no actor: the uploader is not of that organization, and its
/// address is not that organization's to read), inserts the key and its audit row, only while the
/// organization has fewer than `max_active` active keys and changes left today, and
/// nobody else holds the key (all checked inside the insert, so concurrent uploads
/// cannot slip past them; the unique index on active PEMs backs the last up), then
/// reads which rule refused it.
pub async fn insert(db: &Db, key: &NewKey<'_>) -> Result<Insert, Problem> {
    let what = "org_keys.insert";
    let db = db.trip(Route::Primary, what);
    let args = [
        text(key.id),
        text(key.org_id),
        text(key.public_key_pem),
        num(key.bits as i64),
        num(key.now_ms),
        num(i64::from(key.max_active)),
        num(i64::from(key.proven)),
        text(key.audit_id),
        text(key.actor.user_id),
        text(key.actor.sign_in),
    ];
    let room = room_for_key();
    let superseded = superseded(&room);
    let superseded_audit = db.statement(
        format!(
            "INSERT INTO key_audit (id, org_id, key_id, actor_user_id, action, at_ms) \
             SELECT ?8 || '-superseded-' || id, org_id, id, NULL, 'REVOKE', ?5 {superseded}"
        ),
        &args,
    );
    let supersede = db.statement(
        format!("UPDATE org_keys SET revoked_at_ms = ?5 WHERE id IN (SELECT id {superseded})"),
        &args,
    );
    let insert = db.statement(
        format!(
            "INSERT INTO org_keys (id, org_id, public_key_pem, bits, created_at_ms, proven) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?7 WHERE {room} AND NOT EXISTS ({KEY_TAKEN})"
        ),
        &args,
    );
    let audit = db.statement(
        "INSERT INTO key_audit (id, org_id, key_id, actor_user_id, action, at_ms) \
         SELECT ?1, ?2, ?3, ?4, 'CREATE', ?5 WHERE EXISTS (SELECT 1 FROM org_keys WHERE id = ?3)",
        &[
            text(key.audit_id),
            text(key.org_id),
            text(key.id),
            text(key.actor.user_id),
            num(key.now_ms),
        ],
    );
    let taken = db.statement(
        format!("SELECT EXISTS ({KEY_TAKEN} AND id <> ?1) AS taken"),
        &[
            text(key.id),
            text(key.org_id),
            text(key.public_key_pem),
            num(0),
            num(0),
            num(0),
            num(i64::from(key.proven)),
        ],
    );
    let budget = budget_read(&db, key.org_id, key.now_ms);
    let owners_of = owners_read(&db, key.org_id, key.actor.user_id);
    let actor = actor_read(&db, key.org_id, key.actor);
    // The copy this batch revoked (found by its audit row) and its organization's
    // OWNERs; one row per OWNER, none when nothing was superseded.
    let superseded_owners = db.statement(
        format!(
            "SELECT k.org_id, k.id AS key_id, u.id, u.email FROM org_keys k \
             JOIN org_members m ON m.org_id = k.org_id AND m.role = 'OWNER' \
             JOIN users u ON u.id = m.user_id AND u.email_verified_at_ms IS NOT NULL \
             WHERE k.public_key_pem = ?3 AND k.org_id <> ?2 AND k.revoked_at_ms = ?5 \
             AND EXISTS (SELECT 1 FROM key_audit a WHERE a.id = ?8 || '-superseded-' || k.id) \
             ORDER BY m.created_at_ms, u.id LIMIT {OWNERS_TOLD}"
        ),
        &args[..8],
    );
    let statements = vec![
        superseded_audit,
        supersede,
        insert,
        audit,
        taken,
        budget,
        owners_of,
        actor,
        superseded_owners,
    ];
    let results = match db.try_batch(statements).await {
        Ok(results) => results,
        // The index refused a concurrent copy the NOT EXISTS could not yet see.
        Err(e) if e.to_string().contains("org_keys.public_key_pem") => {
            return Ok(Insert::Refused(Refusal::KeyExists))
        }
        Err(e) => return Err(storage_failure(what, e)),
    };
    if changes(&results, 2) > 0 {
        let told: Vec<Value> = rows(&results, 8, what)?;
        let superseded = told.first().map(|copy| Superseded {
            org_id: text_of(copy, "org_id"),
            key_id: text_of(copy, "key_id"),
            owners: recipients(&told),
        });
        return Ok(Insert::Stored {
            owners: owners(&results, 6, what)?,
            superseded,
        });
    }
    if let Some(stopped) = stopped(&results, 7, what)? {
        return Ok(Insert::Refused(Refusal::Stopped(stopped)));
    }
    let taken = rows::<KeyTaken>(&results, 4, what)?
        .first()
        .is_some_and(|t| t.taken != 0);
    let spent = spent(&results, 5, key.now_ms, what)?;
    Ok(match (taken, spent) {
        (true, _) => Insert::Refused(Refusal::KeyExists),
        (false, Some(retry_after_seconds)) => Insert::Refused(Refusal::ChangesSpent {
            retry_after_seconds,
        }),
        (false, None) => Insert::Refused(Refusal::QuotaFull),
    })
}

/// What adding a key now would meet.
pub struct Room {
    /// The organization's active keys.
    pub active: u32,
    /// `Some(seconds to wait)` when its day's changes are spent (core::org_changes).
    pub changes_spent: Option<u32>,
}

/// [`Room`], read on the primary before generating a key, so a full organization costs
/// no RSA key generation (the insert checks both again).
pub async fn room(db: &Db, org_id: &str, now_ms: i64) -> Result<Room, Problem> {
    let what = "org_keys.room";
    let db = db.trip(Route::Primary, what);
    let active = db.statement(
        "SELECT count(*) AS n FROM org_keys WHERE org_id = ?1 AND revoked_at_ms IS NULL",
        &[text(org_id)],
    );
    let budget = budget_read(&db, org_id, now_ms);
    let results = db.batch(vec![active, budget]).await?;
    Ok(Room {
        active: rows::<Count>(&results, 0, what)?
            .first()
            .map_or(0, |c| c.n as u32),
        changes_spent: spent(&results, 1, now_ms, what)?,
    })
}

gatehouse_core::d1_row! {
    struct Count {
        n: f64,
    }
}

gatehouse_core::d1_row! {
    pub struct KeyRow {
        pub id: String,
        pub public_key_pem: String,
        pub created_at_ms: f64,
    }
}

/// One batch: the organization's active keys (newest first) and its first nodes by
/// address, at most [`NODE_KEYS_LISTED`] (however many it has: the node list pages
/// through the rest).
pub async fn list(db: &Db, org_id: &str) -> Result<(Vec<KeyRow>, Vec<NodeRow>), Problem> {
    let what = "org_keys.list";
    let db = db.trip(Route::Replica, what);
    let keys = db.statement(
        "SELECT id, public_key_pem, created_at_ms FROM org_keys \
         WHERE org_id = ?1 AND revoked_at_ms IS NULL ORDER BY created_at_ms DESC, id",
        &[text(org_id)],
    );
    let nodes = db.statement(
        first_nodes_of_org(),
        &[text(org_id), text(""), num(i64::from(NODE_KEYS_LISTED))],
    );
    let results = db.batch(vec![keys, nodes]).await?;
    Ok((rows(&results, 0, what)?, rows(&results, 1, what)?))
}

/// What revoking a key did.
pub enum Revoked {
    Done,
    /// No active key with this id in this organization.
    NotFound,
    /// The caller may no longer revoke keys (org_changes::actor_may_change).
    Stopped(Stopped),
}

/// Revokes an active key of the organization and records who did it, in one batch,
/// while the caller may still change the organization.
pub async fn revoke(
    db: &Db,
    org_id: &str,
    key_id: &str,
    actor: Actor<'_>,
    audit_id: &str,
    now_ms: i64,
) -> Result<Revoked, Problem> {
    let what = "org_keys.revoke";
    let db = db.trip(Route::Primary, what);
    let args = [
        text(key_id),
        text(org_id),
        num(now_ms),
        text(actor.user_id),
        text(audit_id),
        text(actor.sign_in),
    ];
    let may = actor_may_change("?2", "?4", "?6");
    let revoke = db.statement(
        format!(
            "UPDATE org_keys SET revoked_at_ms = ?3 WHERE id = ?1 AND org_id = ?2 AND \
             revoked_at_ms IS NULL AND {may}"
        ),
        &args,
    );
    // Held to the caller too: a concurrent revocation in the same millisecond must not
    // be audited as this caller's once they were stopped.
    let audit = db.statement(
        format!(
            "INSERT INTO key_audit (id, org_id, key_id, actor_user_id, action, at_ms) \
             SELECT ?5, ?2, ?1, ?4, 'REVOKE', ?3 WHERE EXISTS \
             (SELECT 1 FROM org_keys WHERE id = ?1 AND org_id = ?2 AND revoked_at_ms = ?3) \
             AND {may}"
        ),
        &args,
    );
    let actor = actor_read(&db, org_id, actor);
    let results = db.batch(vec![revoke, audit, actor]).await?;
    if changes(&results, 0) > 0 {
        return Ok(Revoked::Done);
    }
    Ok(match stopped(&results, 2, what)? {
        Some(stopped) => Revoked::Stopped(stopped),
        None => Revoked::NotFound,
    })
}

/// Revokes every active key of the organization, with one audit row each (ids
/// `<audit_id>-<key id>`), in one batch, while the caller may still change the
/// organization. Returns how many were revoked.
pub async fn revoke_all(
    db: &Db,
    org_id: &str,
    actor: Actor<'_>,
    audit_id: &str,
    now_ms: i64,
) -> Result<Result<usize, Stopped>, Problem> {
    let what = "org_keys.revoke_all";
    let db = db.trip(Route::Primary, what);
    let args = [
        text(org_id),
        text(actor.user_id),
        text(audit_id),
        num(now_ms),
        text(actor.sign_in),
    ];
    let may = actor_may_change("?1", "?2", "?5");
    let audit = db.statement(
        format!(
            "INSERT INTO key_audit (id, org_id, key_id, actor_user_id, action, at_ms) \
             SELECT ?3 || '-' || id, org_id, id, ?2, 'REVOKE', ?4 FROM org_keys \
             WHERE org_id = ?1 AND revoked_at_ms IS NULL AND {may}"
        ),
        &args,
    );
    let revoke = db.statement(
        format!(
            "UPDATE org_keys SET revoked_at_ms = ?4 WHERE org_id = ?1 \
             AND revoked_at_ms IS NULL AND {may}"
        ),
        &args,
    );
    let actor = actor_read(&db, org_id, actor);
    let results = db.batch(vec![audit, revoke, actor]).await?;
    Ok(match stopped(&results, 2, what)? {
        Some(stopped) => Err(stopped),
        None => Ok(changes(&results, 1)),
    })
}
