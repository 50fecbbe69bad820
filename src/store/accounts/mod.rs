//! Users, organizations, memberships, trials, verification links, refresh sessions,
//! password resets.
//!
//! One file per concern; everything is re-exported here, so callers say
//! `store::accounts::…`.

mod login;
mod password_reset;
mod sessions;
mod signup;
mod verification;

pub use login::*;
pub use password_reset::*;
pub use sessions::*;
pub use signup::*;
pub use verification::*;

use super::db::{Statement, Trip};
use super::{num, opt_text, text, Db, Route};
use gatehouse_core::http::problem::Problem;
use serde::Deserialize;

#[allow(clippy::too_many_arguments)]
fn insert_session(
    db: &Trip<'_>,
    id: &str,
    family_id: &str,
    user_id: &str,
    token_hash: &str,
    now_ms: i64,
    expires_ms: i64,
    device_info: Option<&str>,
) -> Statement {
    db.statement(
        "INSERT INTO refresh_sessions (id, family_id, user_id, token_hash, created_at_ms, \
         expires_at_ms, device_info) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &[
            text(id),
            text(family_id),
            text(user_id),
            text(token_hash),
            num(now_ms),
            num(expires_ms),
            opt_text(device_info),
        ],
    )
}

/// A link row's expiry, to tell "expired" from "unknown or used".
#[derive(Deserialize)]
struct LinkState {
    expires_at_ms: f64,
}

/// Whether a link that was not used by this batch is expired (`true`) or unknown or
/// already used (`false`), from the batch's read-back of its unused row (statement `i`).
fn unused_link_expired(
    results: &[worker::D1Result],
    i: usize,
    now_ms: i64,
    what: &str,
) -> Result<bool, Problem> {
    Ok(super::rows::<LinkState>(results, i, what)?
        .first()
        .is_some_and(|link| link.expires_at_ms <= now_ms as f64))
}

// ---- authorization ---------------------------------------------------------------------

#[derive(Deserialize)]
pub struct Membership {
    pub role: String,
    pub email_verified_at_ms: Option<f64>,
    pub org_banned: bool,
}

/// The user's role in an organization, whether their email is verified (now, not as
/// of their token) and whether the organization is banned, in one read: on the
/// primary before a write (a ban stops writes at once), else possibly on a replica.
pub async fn membership(
    db: &Db,
    user_id: &str,
    org_id: &str,
    route: Route,
) -> Result<Option<Membership>, Problem> {
    let db = db.trip(route, "accounts.membership");
    let statement = db.statement(
        "SELECT m.role, u.email_verified_at_ms, o.banned FROM users u \
         LEFT JOIN org_members m ON m.user_id = u.id AND m.org_id = ?2 \
         LEFT JOIN organizations o ON o.id = m.org_id WHERE u.id = ?1",
        &[text(user_id), text(org_id)],
    );
    db.first::<MembershipRow>(statement).await.map(|row| {
        row.and_then(|r| {
            r.role.map(|role| Membership {
                role,
                email_verified_at_ms: r.email_verified_at_ms,
                org_banned: r.banned.unwrap_or(0) != 0,
            })
        })
    })
}

#[derive(Deserialize)]
struct MembershipRow {
    role: Option<String>,
    email_verified_at_ms: Option<f64>,
    banned: Option<i64>,
}

/// A user as their profile shows them, with their primary organization.
#[derive(Deserialize)]
pub struct Profile {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub email_verified_at_ms: Option<f64>,
    pub is_business: i64,
    pub org_id: Option<String>,
    pub role: Option<String>,
}

pub async fn profile(db: &Db, user_id: &str) -> Result<Option<Profile>, Problem> {
    let what = "accounts.profile";
    let db = db.trip(Route::Replica, what);
    let statement = db.statement(
        "SELECT u.id, u.email, u.first_name, u.last_name, u.email_verified_at_ms, u.is_business, \
           m.org_id, m.role FROM users u \
         LEFT JOIN org_members m ON m.user_id = u.id AND m.org_id = \
           (SELECT org_id FROM org_members WHERE user_id = u.id ORDER BY created_at_ms LIMIT 1) \
         WHERE u.id = ?1",
        &[text(user_id)],
    );
    db.first::<Profile>(statement).await
}
