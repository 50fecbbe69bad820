//! An organization's key, environment and role changes, as the batches that write them
//! read them (core::org_changes says why): whether the day's budget has room, how long
//! until it has again, and which other OWNERs to tell of a change
//! (core::account::notices); and the trail itself, a page at a time, for its OWNERs
//! and ADMINISTRATORs.
//! Shared by the key and environment stores, whose change batches each hold the caller
//! to [`actor_may_change`] and end with [`budget_read`] and [`owners_read`]. Rows are read as `serde_json::Value`s: a derived
//! `Deserialize` per row type is another deserializer in the bundle.

use super::accounts::live_sign_in;
use super::batch::StatementResult;
use super::db::{Statement, Trip};
use super::{num, number_of, rows, text, text_of, Db, Route};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::org_changes::{retry_after_seconds, AuditPage, CHANGES_PER_DAY, WINDOW_MS};
use serde_json::Value;

/// Who makes a change: the signed-in account and the sign-in its access token names
/// (core::account::tokens::AccessClaims' `sid`). Every change's batch reads both again.
#[derive(Clone, Copy)]
pub struct Actor<'a> {
    pub user_id: &'a str,
    pub sign_in: &'a str,
}

/// SQL: account `actor`, signed in with `sign_in` (parameters), may still change
/// organization `org`: an OWNER or ADMINISTRATOR of it, the sign-in not ended, the
/// organization not banned. The route's gate read all three one round trip before the
/// change's batch; a removal, demotion, sign-out or ban landing in between must count,
/// as in a role change (a removed member's row may be gone, and an audit row naming
/// them would fail its foreign key; a password reset ends a thief's sign-ins, and with
/// them the changes they have in flight).
pub(super) fn actor_may_change(org: &str, actor: &str, sign_in: &str) -> String {
    format!(
        "({} AND EXISTS (SELECT 1 FROM organizations mo WHERE mo.id = {org} \
         AND mo.banned = 0))",
        actor_holds(org, actor, sign_in, MAY_CHANGE)
    )
}

/// The roles that may change an organization's keys, nodes and environments (an SQL
/// list; the routes' gate: routes::organization's MANAGE).
const MAY_CHANGE: &str = "'OWNER', 'ADMINISTRATOR'";

/// SQL: account `actor` is still a member of organization `org` with one of `roles`
/// (an SQL list of role names), and still signed in with `sign_in`: what every
/// change's batch reads again of its caller ([`actor_may_change`]; a role change or
/// removal: OWNER).
pub(super) fn actor_holds(org: &str, actor: &str, sign_in: &str, roles: &str) -> String {
    format!(
        "({} AND {})",
        has_role(org, actor, roles),
        live_sign_in(actor, sign_in)
    )
}

/// SQL: account `actor` is a member of organization `org` with one of `roles`, signed
/// in or not ([`actor_holds`] without the sign-in, for reads that report it apart).
pub(super) fn has_role(org: &str, actor: &str, roles: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM org_members ma WHERE ma.org_id = {org} \
         AND ma.user_id = {actor} AND ma.role IN ({roles}))"
    )
}

/// Why [`actor_may_change`] no longer held in a change's batch.
pub enum Stopped {
    /// The caller's sign-in ended since the gate (a sign-out, `DELETE /token/{id}`, a
    /// password reset).
    SignedOut,
    /// The caller is no longer an OWNER or ADMINISTRATOR of the organization (demoted
    /// or removed since the gate).
    NotAllowed,
    /// The organization was banned since the gate.
    Banned,
}

impl Stopped {
    /// Why a caller who no longer may change the organization was stopped, from what
    /// the batch read: whether their sign-in is still `live`, whether they still have
    /// the route's role (`holds`) and whether the organization is `banned` — in the
    /// order the gate checks them (auth::require_member), so the answer is what the
    /// gate would give now.
    pub(super) fn why(live: bool, holds: bool, banned: bool) -> Self {
        if !live {
            Stopped::SignedOut
        } else if !holds {
            Stopped::NotAllowed
        } else if banned {
            Stopped::Banned
        } else {
            Stopped::NotAllowed
        }
    }
}

/// What [`actor_may_change`] is made of — the sign-in, the role, the ban — each read
/// once, by [`stopped`].
pub(super) fn actor_read(trip: &Trip<'_>, org_id: &str, actor: Actor<'_>) -> Statement {
    trip.statement(
        format!(
            "SELECT (SELECT banned FROM organizations WHERE id = ?1) AS banned, \
             {} AS live, {} AS holds",
            live_sign_in("?2", "?3"),
            has_role("?1", "?2", MAY_CHANGE)
        ),
        &[text(org_id), text(actor.user_id), text(actor.sign_in)],
    )
}

/// [`actor_read`]'s answer (statement `at` of the batch): why the change was stopped,
/// if it was.
pub(super) fn stopped(
    results: &[StatementResult],
    at: usize,
    what: &str,
) -> Result<Option<Stopped>, Problem> {
    let read: Vec<Value> = rows(results, at, what)?;
    let row = read.first();
    let yes = |column: &str| row.and_then(|r| number_of(r, column)) == Some(1);
    // actor_may_change: a live sign-in, the role, an organization not banned.
    let allowed = yes("live") && yes("holds") && !yes("banned");
    Ok((!allowed).then(|| Stopped::why(yes("live"), yes("holds"), yes("banned"))))
}

/// SQL: whether organization `org` (a parameter, e.g. `?2`) may make another change at
/// `now`: fewer than [`CHANGES_PER_DAY`] audit rows in the day before. The count stops
/// at the budget: a bounded range scan of `key_audit_by_org`.
pub(super) fn room_for_change(org: &str, now: &str) -> String {
    format!(
        "(SELECT count(*) FROM (SELECT 1 FROM key_audit WHERE org_id = {org} \
         AND at_ms > {now} - {WINDOW_MS} LIMIT {CHANGES_PER_DAY})) < {CHANGES_PER_DAY}"
    )
}

/// The organization's changes in the day before `now_ms` (counted up to the budget)
/// and the oldest of them, read by [`spent`].
pub(super) fn budget_read(trip: &Trip<'_>, org_id: &str, now_ms: i64) -> Statement {
    trip.statement(
        format!(
            "SELECT count(*) AS n, min(at_ms) AS oldest FROM (SELECT at_ms FROM key_audit \
             WHERE org_id = ?1 AND at_ms > ?2 - {WINDOW_MS} ORDER BY at_ms DESC \
             LIMIT {CHANGES_PER_DAY})"
        ),
        &[text(org_id), num(now_ms)],
    )
}

/// [`budget_read`]'s answer (statement `at` of the batch): `Some(seconds to wait)` when
/// the day's changes are spent.
pub(super) fn spent(
    results: &[StatementResult],
    at: usize,
    now_ms: i64,
    what: &str,
) -> Result<Option<u32>, Problem> {
    let budget: Vec<Value> = rows(results, at, what)?;
    Ok(budget.first().and_then(|budget| {
        let counted = budget["n"].as_f64().unwrap_or(0.0);
        (counted >= f64::from(CHANGES_PER_DAY)).then(|| {
            let oldest = budget["oldest"].as_f64().unwrap_or(0.0) as i64;
            retry_after_seconds(oldest, now_ms)
        })
    }))
}

/// At most this many of an organization's other OWNERs (its earliest) are told of a
/// change: each change's mail is bounded by 1 + this, and changes by the day's budget.
pub(super) const OWNERS_TOLD: u32 = 5;

/// The verified OWNERs of the organization but the acting account, read by [`owners`]:
/// who is told of a key or environment change besides the actor.
pub(super) fn owners_read(trip: &Trip<'_>, org_id: &str, actor_user_id: &str) -> Statement {
    trip.statement(
        format!(
            "SELECT u.id, u.email FROM org_members m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = ?1 AND m.role = 'OWNER' AND u.email_verified_at_ms IS NOT NULL \
             AND u.id <> ?2 ORDER BY m.created_at_ms, u.id LIMIT {OWNERS_TOLD}"
        ),
        &[text(org_id), text(actor_user_id)],
    )
}

/// Someone a security notice goes to.
pub struct Recipient {
    pub user_id: String,
    pub email: String,
}

/// [`owners_read`]'s answer (statement `at` of the batch).
pub(super) fn owners(
    results: &[StatementResult],
    at: usize,
    what: &str,
) -> Result<Vec<Recipient>, Problem> {
    let listed: Vec<Value> = rows(results, at, what)?;
    Ok(recipients(&listed))
}

/// The recipients in rows that carry `id` and `email` (a read of OWNERs).
pub(super) fn recipients(listed: &[Value]) -> Vec<Recipient> {
    listed
        .iter()
        .filter_map(|row| {
            Some(Recipient {
                user_id: row["id"].as_str()?.to_owned(),
                email: row["email"].as_str()?.to_owned(),
            })
        })
        .collect()
}

/// An audit entry as `GET /organization/{idOrg}/audit` lists it.
pub struct AuditRow {
    pub id: String,
    pub at_ms: i64,
    pub action: String,
    /// The key's id, the service, or the member's id (core::org_changes).
    pub subject: String,
    /// The acting account and its address now (`erased:<id>` once erased); `None`
    /// for an operator's change.
    pub actor: Option<(String, String)>,
}

/// One page of the organization's audit trail, newest first (core::org_changes::
/// AuditPage), and the first entry of the next if there is one (so `limit` + 1 rows):
/// a range read of `key_audit_by_org` from the cursor on (entries of one millisecond
/// sorted by id), the acting accounts' addresses joined.
pub async fn audit_page(db: &Db, org_id: &str, page: &AuditPage) -> Result<Vec<AuditRow>, Problem> {
    let what = "org_changes.audit_page";
    let db = db.trip(Route::Replica, what);
    let columns = "SELECT a.id, a.at_ms, a.action, a.key_id, a.actor_user_id, \
                   u.email AS actor_email FROM key_audit a \
                   LEFT JOIN users u ON u.id = a.actor_user_id WHERE a.org_id = ?1";
    let order = "ORDER BY a.at_ms DESC, a.id DESC LIMIT ?2";
    let statement = match &page.before {
        None => db.statement(
            format!("{columns} {order}"),
            &[text(org_id), num(i64::from(page.limit) + 1)],
        ),
        Some((at_ms, id)) => db.statement(
            format!("{columns} AND a.at_ms <= ?3 AND (a.at_ms < ?3 OR a.id < ?4) {order}"),
            &[
                text(org_id),
                num(i64::from(page.limit) + 1),
                num(*at_ms),
                text(id),
            ],
        ),
    };
    let results = db.batch(vec![statement]).await?;
    let listed: Vec<Value> = rows(&results, 0, what)?;
    Ok(listed
        .iter()
        .map(|row| AuditRow {
            id: text_of(row, "id"),
            at_ms: number_of(row, "at_ms").unwrap_or(0),
            action: text_of(row, "action"),
            subject: text_of(row, "key_id"),
            actor: row["actor_user_id"]
                .as_str()
                .map(|id| (id.to_owned(), text_of(row, "actor_email"))),
        })
        .collect())
}
