//! Password reset links: making one, using one.

use super::links::unused_link_expired;
use crate::store::{changes, num, rows, text, Db, Route};
use gatehouse_core::http::problem::Problem;
use serde::Deserialize;

/// Whether [`new_reset`] made a link (and so a mail is to be sent).
#[derive(Deserialize)]
struct Made {
    made: i64,
}

/// One batch, the same whether or not an account has this address (no enumeration by
/// round trips or latency): if an account has `email` and its last reset link is
/// older than `interval_ms`, retire its unused links and store the new one; read back
/// whether it did. Returns whether a link was made.
pub async fn new_reset(
    db: &Db,
    email: &str,
    token_hash: &str,
    now_ms: i64,
    interval_ms: i64,
    expires_ms: i64,
) -> Result<bool, Problem> {
    let what = "accounts.new_reset";
    let trip = db.trip(Route::Primary, what);
    let args = [
        text(email),
        text(token_hash),
        num(now_ms),
        num(interval_ms),
        num(expires_ms),
    ];
    // The account with this address that may get a new link now (?1 email, ?3 now,
    // ?4 interval).
    let due = "SELECT u.id FROM users u WHERE u.email = ?1 AND NOT EXISTS (SELECT 1 FROM \
               password_resets r WHERE r.user_id = u.id AND r.created_at_ms > ?3 - ?4)";
    let retire = trip.statement(
        &format!(
            "UPDATE password_resets SET used_at_ms = ?3, used_by = 'superseded' \
             WHERE used_at_ms IS NULL AND user_id IN ({due})"
        ),
        &args[..4],
    );
    let insert = trip.statement(
        &format!(
            "INSERT INTO password_resets (token_hash, user_id, created_at_ms, expires_at_ms) \
             SELECT ?2, id, ?3, ?5 FROM ({due})"
        ),
        &args,
    );
    let made = trip.statement(
        "SELECT EXISTS (SELECT 1 FROM password_resets WHERE token_hash = ?1) AS made",
        &[text(token_hash)],
    );
    let results = trip.batch(vec![retire, insert, made]).await?;
    Ok(rows::<Made>(&results, 2, what)?
        .first()
        .is_some_and(|m| m.made != 0))
}

pub enum Reset {
    Done,
    Expired,
    Invalid,
}

/// One batch: use the link if it is unused and unexpired (marked with this request's
/// `request_id`, so only the request that used it goes on), set the new password
/// hash, clear the failure counters, forget the known networks (a thief's must not
/// stay exempt from the login lock), end every sign-in of the user (so their access
/// tokens stop working too), and read the link back to tell "expired" from "unknown
/// or used".
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
    let forget = |table: &str| {
        db.statement(
            &format!("DELETE FROM {table} WHERE user_id IN ({mine})"),
            &args[..3],
        )
    };
    let state = db.statement(
        "SELECT expires_at_ms FROM password_resets WHERE token_hash = ?1 AND used_at_ms IS NULL",
        &args[..1],
    );
    let results = db
        .batch(vec![
            consume,
            set,
            sign_out,
            forget("login_failures"),
            forget("login_networks"),
            state,
        ])
        .await?;
    if changes(&results, 0) > 0 {
        return Ok(Reset::Done);
    }
    Ok(if unused_link_expired(&results, 5, now_ms, what)? {
        Reset::Expired
    } else {
        Reset::Invalid
    })
}
