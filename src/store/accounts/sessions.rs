//! Refresh sessions (one row per refresh token, a family per sign-in): reading,
//! rotating, revoking, signing out, listing — and whether an access token's sign-in is
//! still live ([`live_sign_in`]), the one definition every authenticating read uses.

use crate::store::{changes, num, rows, text, Db, Route};
use gatehouse_core::account::tokens::AccessClaims;
use gatehouse_core::http::problem::Problem;
use serde::Deserialize;

/// SQL: whether the sign-in `sid` (an access token's `sid`, the refresh-token family's
/// id) of user `user` is live — some token of the family not revoked. Logout, `DELETE
/// /token/{id}`, reuse detection and a password reset revoke a family's every token,
/// so an access token stops working with its sign-in, not 15 minutes later. `user` and
/// `sid` are the statement's parameter placeholders (e.g. `"?1"`). Each authenticating
/// read adds this as one more column or condition: no extra round trip. (One place to
/// change when sessions become one row per sign-in.)
pub(crate) fn live_sign_in(user: &str, sid: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM refresh_sessions live WHERE live.family_id = {sid} \
         AND live.user_id = {user} AND live.revoked_at_ms IS NULL)"
    )
}

/// What an authenticated read answers when the caller's sign-in has ended.
pub enum Signed<T> {
    In(T),
    Ended,
}

/// Records on the request's [`Db`] that its caller is signed in (it may be handed a
/// bookmark), and wraps `value`.
pub(crate) fn signed<T>(db: &Db, live: bool, value: T) -> Signed<T> {
    if live {
        db.mark_signed_in();
        Signed::In(value)
    } else {
        Signed::Ended
    }
}

#[derive(Deserialize)]
struct Live {
    live: i64,
}

#[derive(Deserialize)]
pub struct SessionRecord {
    pub family_id: String,
    pub token_hash: String,
    pub revoked_at_ms: Option<f64>,
    /// The token that replaced this one, when rotation retired it.
    pub replaced_by: Option<String>,
    /// Revoked because a retired token of its sign-in came back (migration 0011).
    pub revoked_for_reuse: i64,
    pub user_id: String,
    pub org_id: String,
    pub email_verified_at_ms: Option<f64>,
}

pub async fn session(db: &Db, session_id: &str) -> Result<Option<SessionRecord>, Problem> {
    let db = db.trip(Route::Primary, "accounts.session");
    let statement = db.statement(
        "SELECT s.family_id, s.token_hash, s.revoked_at_ms, s.replaced_by, s.revoked_for_reuse, \
         s.user_id, \
         u.email_verified_at_ms, (SELECT org_id FROM org_members m WHERE m.user_id = \
         s.user_id ORDER BY m.created_at_ms LIMIT 1) AS org_id FROM refresh_sessions s JOIN \
         users u ON u.id = s.user_id WHERE s.id = ?1",
        &[text(session_id)],
    );
    db.first(statement).await
}

/// Rotates `old` to `new` in one batch. The insert only happens if this request is
/// the one that retired `old`, so two concurrent uses of one token cannot both rotate.
/// Returns false when `old` was already retired (reuse).
#[allow(clippy::too_many_arguments)]
pub async fn rotate_session(
    db: &Db,
    old_id: &str,
    new_id: &str,
    family_id: &str,
    user_id: &str,
    new_hash: &str,
    now_ms: i64,
    expires_ms: i64,
) -> Result<bool, Problem> {
    let what = "accounts.rotate_session";
    let db = db.trip(Route::Primary, what);
    let retire = db.statement(
        "UPDATE refresh_sessions SET revoked_at_ms = ?3, replaced_by = ?2 WHERE id = ?1 AND \
         revoked_at_ms IS NULL",
        &[text(old_id), text(new_id), num(now_ms)],
    );
    let insert = db.statement(
        "INSERT INTO refresh_sessions (id, family_id, user_id, token_hash, created_at_ms, \
         expires_at_ms, device_info) SELECT ?1, ?2, ?3, ?4, ?5, ?6, (SELECT device_info FROM \
         refresh_sessions WHERE id = ?7) WHERE EXISTS (SELECT 1 FROM refresh_sessions WHERE \
         id = ?7 AND replaced_by = ?1)",
        &[
            text(new_id),
            text(family_id),
            text(user_id),
            text(new_hash),
            num(now_ms),
            num(expires_ms),
            text(old_id),
        ],
    );
    let results = db.batch(vec![retire, insert]).await?;
    Ok(changes(&results, 1) > 0)
}

/// Revokes every live session of a family (refresh-token reuse detected).
pub async fn revoke_family(db: &Db, family_id: &str, now_ms: i64) -> Result<(), Problem> {
    let db = db.trip(Route::Primary, "accounts.revoke_family");
    let revoke = db.statement(
        "UPDATE refresh_sessions SET revoked_at_ms = ?2, revoked_for_reuse = 1 WHERE family_id = \
         ?1 AND revoked_at_ms IS NULL",
        &[text(family_id), num(now_ms)],
    );
    db.batch(vec![revoke]).await?;
    Ok(())
}

/// Revokes the sign-in (refresh-token family) that `session_id` belongs to, if it is
/// `user_id`'s; already revoked or unknown changes nothing. One statement. Returns
/// whether a live token was revoked.
pub async fn sign_out(
    db: &Db,
    session_id: &str,
    user_id: &str,
    now_ms: i64,
) -> Result<bool, Problem> {
    let what = "accounts.sign_out";
    let db = db.trip(Route::Primary, what);
    let revoke = db.statement(
        "UPDATE refresh_sessions SET revoked_at_ms = ?3 WHERE revoked_at_ms IS NULL AND \
         family_id = (SELECT family_id FROM refresh_sessions WHERE id = ?1 AND user_id = ?2)",
        &[text(session_id), text(user_id), num(now_ms)],
    );
    let results = db.batch(vec![revoke]).await?;
    Ok(changes(&results, 0) > 0)
}

/// Ends the sign-in that `session_id` belongs to, if it is the caller's own (as
/// [`sign_out`]), and only while the caller's own sign-in is live. One batch: the
/// check, then the conditional revocation. `In(false)`: no live sign-in with that id.
pub async fn end_sign_in(
    db: &Db,
    caller: &AccessClaims,
    session_id: &str,
    now_ms: i64,
) -> Result<Signed<bool>, Problem> {
    let what = "accounts.end_sign_in";
    let trip = db.trip(Route::Primary, what);
    let args = [
        text(session_id),
        text(&caller.sub),
        num(now_ms),
        text(&caller.sid),
    ];
    let live = live_sign_in("?2", "?4");
    let check = trip.statement(&format!("SELECT {live} AS live"), &args);
    let revoke = trip.statement(
        &format!(
            "UPDATE refresh_sessions SET revoked_at_ms = ?3 WHERE revoked_at_ms IS NULL AND \
             family_id = (SELECT family_id FROM refresh_sessions WHERE id = ?1 AND user_id = ?2) \
             AND {live}"
        ),
        &args,
    );
    let results = trip.batch(vec![check, revoke]).await?;
    let live = rows::<Live>(&results, 0, what)?
        .first()
        .is_some_and(|l| l.live != 0);
    Ok(signed(db, live, changes(&results, 1) > 0))
}

/// A live sign-in of a user: its current refresh token row.
#[derive(Deserialize)]
pub struct LiveSession {
    pub id: String,
    pub family_id: String,
    pub signed_in_ms: Option<f64>,
    pub last_used_ms: f64,
    pub expires_at_ms: f64,
    pub device_info: Option<String>,
}

/// The caller's live sign-ins (one unrevoked, unexpired token each), newest use
/// first — if the caller's own sign-in is live.
pub async fn live_sessions(
    db: &Db,
    caller: &AccessClaims,
    now_ms: i64,
) -> Result<Signed<Vec<LiveSession>>, Problem> {
    let what = "accounts.live_sessions";
    let trip = db.trip(Route::Replica, what);
    let args = [text(&caller.sub), num(now_ms), text(&caller.sid)];
    let list = trip.statement(
        "SELECT s.id, s.family_id, s.created_at_ms AS last_used_ms, s.expires_at_ms, \
         s.device_info, (SELECT f.created_at_ms FROM refresh_sessions f WHERE f.id = \
         s.family_id) AS signed_in_ms FROM refresh_sessions s WHERE s.user_id = ?1 AND \
         s.revoked_at_ms IS NULL AND s.expires_at_ms > ?2 ORDER BY s.created_at_ms DESC",
        &args[..2],
    );
    let check = trip.statement(
        &format!("SELECT {} AS live", live_sign_in("?1", "?3")),
        &args,
    );
    let results = trip.batch(vec![list, check]).await?;
    let live = rows::<Live>(&results, 1, what)?
        .first()
        .is_some_and(|l| l.live != 0);
    Ok(signed(db, live, rows(&results, 0, what)?))
}
