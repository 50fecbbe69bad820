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

use super::{d1, num, opt_text, stmt, storage_failure, text};
use gatehouse_core::problem::Problem;
use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement, Env};

#[allow(clippy::too_many_arguments)]
fn insert_session(
    db: &D1Database,
    id: &str,
    family_id: &str,
    user_id: &str,
    token_hash: &str,
    now_ms: i64,
    expires_ms: i64,
    device_info: Option<&str>,
) -> Result<D1PreparedStatement, Problem> {
    stmt(
        db,
        "INSERT INTO refresh_sessions (id, family_id, user_id, token_hash, created_at_ms, expires_at_ms, device_info) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &[text(id), text(family_id), text(user_id), text(token_hash), num(now_ms), num(expires_ms), opt_text(device_info)],
        "accounts.insert_session",
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
/// of their token) and whether the organization is banned, in one read.
pub async fn membership(
    env: &Env,
    user_id: &str,
    org_id: &str,
) -> Result<Option<Membership>, Problem> {
    let db = d1(env)?;
    db.prepare(
        "SELECT m.role, u.email_verified_at_ms, o.banned FROM users u \
         LEFT JOIN org_members m ON m.user_id = u.id AND m.org_id = ?2 \
         LEFT JOIN organizations o ON o.id = m.org_id WHERE u.id = ?1",
    )
    .bind(&[text(user_id), text(org_id)])
    .map_err(|e| storage_failure("accounts.membership", e))?
    .first::<MembershipRow>(None)
    .await
    .map_err(|e| storage_failure("accounts.membership", e))
    .map(|row| {
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

pub async fn profile(env: &Env, user_id: &str) -> Result<Option<Profile>, Problem> {
    let db = d1(env)?;
    let what = "accounts.profile";
    stmt(
        &db,
        "SELECT u.id, u.email, u.first_name, u.last_name, u.email_verified_at_ms, u.is_business, \
           m.org_id, m.role FROM users u \
         LEFT JOIN org_members m ON m.user_id = u.id AND m.org_id = \
           (SELECT org_id FROM org_members WHERE user_id = u.id ORDER BY created_at_ms LIMIT 1) \
         WHERE u.id = ?1",
        &[text(user_id)],
        what,
    )?
    .first::<Profile>(None)
    .await
    .map_err(|e| storage_failure(what, e))
}
