//! Password reset links: making one, using one.

use super::unused_link_expired;
use crate::store::{changes, d1, num, stmt, storage_failure, text};
use gatehouse_core::problem::Problem;
use serde::Deserialize;
use worker::Env;

#[derive(Deserialize)]
pub struct ResetTarget {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub last_sent_ms: Option<f64>,
}

/// The account with this email and when its last reset link was made.
pub async fn reset_target(env: &Env, email: &str) -> Result<Option<ResetTarget>, Problem> {
    let db = d1(env)?;
    let what = "accounts.reset_target";
    stmt(
        &db,
        "SELECT u.id, u.first_name, u.last_name, \
         (SELECT max(created_at_ms) FROM password_resets r WHERE r.user_id = u.id) AS last_sent_ms \
         FROM users u WHERE u.email = ?1",
        &[text(email)],
        what,
    )?
    .first::<ResetTarget>(None)
    .await
    .map_err(|e| storage_failure(what, e))
}

/// One batch: retire the user's unused reset links, store the new one.
pub async fn new_reset(
    env: &Env,
    user_id: &str,
    token_hash: &str,
    now_ms: i64,
    expires_ms: i64,
) -> Result<(), Problem> {
    let db = d1(env)?;
    let what = "accounts.new_reset";
    let retire = stmt(
        &db,
        "UPDATE password_resets SET used_at_ms = ?2, used_by = 'superseded' \
         WHERE user_id = ?1 AND used_at_ms IS NULL",
        &[text(user_id), num(now_ms)],
        what,
    )?;
    let insert = stmt(
        &db,
        "INSERT INTO password_resets (token_hash, user_id, created_at_ms, expires_at_ms) \
         VALUES (?1, ?2, ?3, ?4)",
        &[
            text(token_hash),
            text(user_id),
            num(now_ms),
            num(expires_ms),
        ],
        what,
    )?;
    db.batch(vec![retire, insert])
        .await
        .map_err(|e| storage_failure(what, e))?;
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
    env: &Env,
    token_hash: &str,
    request_id: &str,
    password_hash: &str,
    now_ms: i64,
) -> Result<Reset, Problem> {
    let db = d1(env)?;
    let what = "accounts.reset_password";
    let args = [
        text(token_hash),
        num(now_ms),
        text(request_id),
        text(password_hash),
    ];
    let mine = "SELECT user_id FROM password_resets WHERE token_hash = ?1 AND used_by = ?3";
    let consume = stmt(
        &db,
        "UPDATE password_resets SET used_at_ms = ?2, used_by = ?3 \
         WHERE token_hash = ?1 AND used_at_ms IS NULL AND expires_at_ms > ?2",
        &args[..3],
        what,
    )?;
    let set = stmt(
        &db,
        &format!(
            "UPDATE users SET password_hash = ?4, failed_logins = 0, failed_logins_since_ms = NULL \
             WHERE id IN ({mine})"
        ),
        &args,
        what,
    )?;
    let sign_out = stmt(
        &db,
        &format!(
            "UPDATE refresh_sessions SET revoked_at_ms = ?2 \
             WHERE revoked_at_ms IS NULL AND user_id IN ({mine})"
        ),
        &args[..3],
        what,
    )?;
    let state = stmt(
        &db,
        "SELECT expires_at_ms FROM password_resets WHERE token_hash = ?1 AND used_at_ms IS NULL",
        &args[..1],
        what,
    )?;
    let results = db
        .batch(vec![consume, set, sign_out, state])
        .await
        .map_err(|e| storage_failure(what, e))?;
    if changes(&results, 0) > 0 {
        return Ok(Reset::Done);
    }
    Ok(if unused_link_expired(&results, 3, now_ms, what)? {
        Reset::Expired
    } else {
        Reset::Invalid
    })
}
