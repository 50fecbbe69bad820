//! One-time links (email verification, password reset): what a link is now, without
//! using it, and how a batch that tried to use one tells "expired" from "unknown or
//! used".
//!
//! Routes read a link before any costly work (the password KDF): a made-up or used
//! token is refused after one cheap read.

use crate::store::{rows, text, Db, Route};
use gatehouse_core::http::problem::Problem;
use serde::Deserialize;

#[derive(Clone, Copy)]
pub enum OneTimeLink {
    Verification,
    PasswordReset,
}

impl OneTimeLink {
    fn table(self) -> &'static str {
        match self {
            OneTimeLink::Verification => "email_verifications",
            OneTimeLink::PasswordReset => "password_resets",
        }
    }
}

pub enum LinkState {
    /// Unused and unexpired; the password hash of the account it belongs to.
    Usable {
        password_hash: String,
    },
    Expired,
    /// Unknown, or already used.
    Unusable,
}

#[derive(Deserialize)]
struct LinkRow {
    expires_at_ms: f64,
    used_at_ms: Option<f64>,
    password_hash: String,
}

/// What the link with this token hash is now, read on the primary.
pub async fn link_state(
    db: &Db,
    link: OneTimeLink,
    token_hash: &str,
    now_ms: i64,
) -> Result<LinkState, Problem> {
    let trip = db.trip(Route::Primary, "accounts.link_state");
    let statement = trip.statement(
        &format!(
            "SELECT l.expires_at_ms, l.used_at_ms, u.password_hash FROM {} l \
             JOIN users u ON u.id = l.user_id WHERE l.token_hash = ?1",
            link.table()
        ),
        &[text(token_hash)],
    );
    Ok(match trip.first::<LinkRow>(statement).await? {
        Some(l) if l.used_at_ms.is_some() => LinkState::Unusable,
        Some(l) if l.expires_at_ms <= now_ms as f64 => LinkState::Expired,
        Some(l) => LinkState::Usable {
            password_hash: l.password_hash,
        },
        None => LinkState::Unusable,
    })
}

/// A link row's expiry, to tell "expired" from "unknown or used".
#[derive(Deserialize)]
struct Expiry {
    expires_at_ms: f64,
}

/// Whether a link that was not used by this batch is expired (`true`) or unknown or
/// already used (`false`), from the batch's read-back of its unused row (statement `i`).
pub(super) fn unused_link_expired(
    results: &[worker::D1Result],
    i: usize,
    now_ms: i64,
    what: &str,
) -> Result<bool, Problem> {
    Ok(rows::<Expiry>(results, i, what)?
        .first()
        .is_some_and(|link| link.expires_at_ms <= now_ms as f64))
}
