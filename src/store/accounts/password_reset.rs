//! Password reset links: making one, using one.

use super::links::{
    new_link, unused_link_expired, LinkToMake, NewLink, NewLinkOutcome, OneTimeLink,
};
use crate::store::{changes, num, text, Db, Route};
use gatehouse_core::http::problem::Problem;

/// A new reset link for the account with `email`, unless its last one is younger
/// than `interval_ms` (older unused ones retired) or, for an account never verified,
/// the hour's mail to unproven addresses has no room (its `mail`); one batch whether or
/// not the account exists (links::new_link).
pub async fn new_reset(
    db: &Db,
    email: &str,
    link: LinkToMake<'_>,
) -> Result<NewLinkOutcome, Problem> {
    let link = NewLink {
        kind: OneTimeLink::PasswordReset,
        account: "u.email = ?1",
        value: email,
        link,
    };
    new_link(db, "accounts.new_reset", link).await
}

pub enum Reset {
    Done,
    Expired,
    Invalid,
}

/// One batch: use the link if it is unused and unexpired (marked with this request's
/// `request_id`, so only the request that used it goes on), set the new password
/// hash, clear the failure counters, forget the known networks (a thief's must not
/// stay exempt from the login lock) but for the `network` the reset came from, which
/// it makes known (the link proved the mailbox: strangers filling the account's
/// ceiling of failures cannot then lock its owner out of every network, the one they
/// reset from included), end every sign-in of the user (so their access tokens stop
/// working too), and read the link back to tell "expired" from "unknown or used".
pub async fn reset_password(
    db: &Db,
    token_hash: &str,
    request_id: &str,
    password_hash: &str,
    network: &str,
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
        format!(
            "UPDATE users SET password_hash = ?4, failed_logins = 0, failed_logins_since_ms = NULL \
             WHERE id IN ({mine})"
        ),
        &args,
    );
    let sign_out = db.statement(
        format!(
            "UPDATE sign_ins SET ended_at_ms = ?2 \
             WHERE ended_at_ms IS NULL AND user_id IN ({mine})"
        ),
        &args[..3],
    );
    let forget = |table: &str| {
        db.statement(
            format!("DELETE FROM {table} WHERE user_id IN ({mine})"),
            &args[..3],
        )
    };
    let known = db.statement(
        format!(
            "INSERT INTO login_networks (user_id, network, last_success_ms) \
             SELECT user_id, ?4, ?2 FROM ({mine})"
        ),
        &[
            args[0].clone(),
            args[1].clone(),
            args[2].clone(),
            text(network),
        ],
    );
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
            known,
            state,
        ])
        .await?;
    if changes(&results, 0) > 0 {
        return Ok(Reset::Done);
    }
    Ok(if unused_link_expired(&results, 6, now_ms, what)? {
        Reset::Expired
    } else {
        Reset::Invalid
    })
}
