//! Refresh sessions (one row per refresh token, a family per sign-in): reading,
//! rotating, revoking, signing out, listing.

use crate::store::{changes, num, rows, text, Db, Route};
use gatehouse_core::http::problem::Problem;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct SessionRecord {
    pub family_id: String,
    pub token_hash: String,
    pub revoked_at_ms: Option<f64>,
    pub user_id: String,
    pub org_id: String,
    pub email_verified_at_ms: Option<f64>,
}

pub async fn session(db: &Db, session_id: &str) -> Result<Option<SessionRecord>, Problem> {
    let db = db.trip(Route::Primary, "accounts.session");
    let statement = db.statement(
        "SELECT s.family_id, s.token_hash, s.revoked_at_ms, s.user_id, \
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
        "UPDATE refresh_sessions SET revoked_at_ms = ?2 WHERE family_id = ?1 AND \
         revoked_at_ms IS NULL",
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

/// The user's live sign-ins (one unrevoked, unexpired token each), newest use first.
pub async fn live_sessions(
    db: &Db,
    user_id: &str,
    now_ms: i64,
) -> Result<Vec<LiveSession>, Problem> {
    let what = "accounts.live_sessions";
    let db = db.trip(Route::Replica, what);
    let results = db
        .batch(vec![db.statement(
            "SELECT s.id, s.family_id, s.created_at_ms AS last_used_ms, s.expires_at_ms, \
             s.device_info, (SELECT f.created_at_ms FROM refresh_sessions f WHERE f.id = \
             s.family_id) AS signed_in_ms FROM refresh_sessions s WHERE s.user_id = ?1 AND \
             s.revoked_at_ms IS NULL AND s.expires_at_ms > ?2 ORDER BY s.created_at_ms DESC",
            &[text(user_id), num(now_ms)],
        )])
        .await?;
    rows(&results, 0, what)
}
