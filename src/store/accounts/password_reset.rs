//! Password reset links: making one, using one.

use super::unused_link_expired;
use crate::store::{changes, num, text, Db, Route};
use gatehouse_core::http::problem::Problem;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct ResetTarget {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub last_sent_ms: Option<f64>,
}

/// The account with this email and when its last reset link was made.
pub async fn reset_target(db: &Db, email: &str) -> Result<Option<ResetTarget>, Problem> {
    let what = "accounts.reset_target";
    let db = db.trip(Route::Primary, what);
    let statement = db.statement(
        "SELECT u.id, u.first_name, u.last_name, \
         (SELECT max(created_at_ms) FROM password_resets r WHERE r.user_id = u.id) AS last_sent_ms \
         FROM users u WHERE u.email = ?1",
        &[text(email)],
    );
    db.first::<ResetTarget>(statement).await
}

/// One batch: retire the user's unused reset links, store the new one.
pub async fn new_reset(
    db: &Db,
    user_id: &str,
    token_hash: &str,
    now_ms: i64,
    expires_ms: i64,
) -> Result<(), Problem> {
    let what = "accounts.new_reset";
    let db = db.trip(Route::Primary, what);
    let retire = db.statement(
        "UPDATE password_resets SET used_at_ms = ?2, used_by = 'superseded' \
         WHERE user_id = ?1 AND used_at_ms IS NULL",
        &[text(user_id), num(now_ms)],
    );
    let insert = db.statement(
        "INSERT INTO password_resets (token_hash, user_id, created_at_ms, expires_at_ms) \
         VALUES (?1, ?2, ?3, ?4)",
        &[
            text(token_hash),
            text(user_id),
            num(now_ms),
            num(expires_ms),
        ],
    );
    db.batch(vec![retire, insert]).await?;
    Ok(())
}

pub enum Reset {
    Done,
    Expired,
    Invalid,
}

/// One batch: use the link if it is unused and unexpired (marked with this request's
/// `request_id`, so only the request that used it goes on), set the new password
/// hash, clear the failure counter, end every sign-in of the user, and read the link
/// back to tell "expired" from "unknown or used".
pub async fn reset_password(
    db: &Db,
    token_hash: &str,
    request_id: &str,
    password_hash: &str,
    now_ms: i64,
) -> Result<Reset, Problem> {
    let what = "accounts.reset_password";
    let db = db.trip(Route::Primary, what);
    let args = [
        text(token_hash),
        num(now_ms),
        text(request_id),
        text(password_hash),
    ];
    let mine = "SELECT user_id FROM password_resets WHERE token_hash = ?1 AND used_by = ?3";
    let consume = db.statement(
        "UPDATE password_resets SET used_at_ms = ?2, used_by = ?3 \
         WHERE token_hash = ?1 AND used_at_ms IS NULL AND expires_at_ms > ?2",
        &args[..3],
    );
    let set = db.statement(
        &format!(
            "UPDATE users SET password_hash = ?4, failed_logins = 0, failed_logins_since_ms = NULL \
             WHERE id IN ({mine})"
        ),
        &args,
    );
    let sign_out = db.statement(
        &format!(
            "UPDATE refresh_sessions SET revoked_at_ms = ?2 \
             WHERE revoked_at_ms IS NULL AND user_id IN ({mine})"
        ),
        &args[..3],
    );
    let state = db.statement(
        "SELECT expires_at_ms FROM password_resets WHERE token_hash = ?1 AND used_at_ms IS NULL",
        &args[..1],
    );
    let results = db.batch(vec![consume, set, sign_out, state]).await?;
    if changes(&results, 0) > 0 {
        return Ok(Reset::Done);
    }
    Ok(if unused_link_expired(&results, 3, now_ms, what)? {
        Reset::Expired
    } else {
        Reset::Invalid
    })
}
