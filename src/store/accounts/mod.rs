//! Users, organizations, memberships, trials, verification links, sign-ins (one row each),
//! password resets.
//!
//! One file per concern; everything is re-exported here, so callers say
//! `store::accounts::…`.

/// SQL text, fixed at compile time: the user with id `$user` (a parameter, e.g.
/// `"?1"`) still has the password hash `$hash` on the primary. What every write of a
/// login checks: login reads the hash from a replica, and a password reset on the
/// primary since must not be outlived by what the old password started (the "Stale
/// caches" row of SECURITY.md).
macro_rules! password_unchanged {
    ($user:literal, $hash:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM users WHERE id = ",
            $user,
            " AND password_hash = ",
            $hash,
            ")"
        )
    };
}

mod links;
mod login;
mod mail_budget;
mod password_reset;
mod sessions;
mod signup;
mod verification;

pub use links::*;
pub use login::*;
pub use mail_budget::UnprovenMail;
pub use password_reset::*;
pub use sessions::*;
pub use signup::*;
pub use verification::*;

use super::db::{Statement, Trip};
use super::{num, opt_text, text, Db, Route};
use gatehouse_core::account::tokens::AccessClaims;
use gatehouse_core::http::problem::Problem;

/// A new sign-in (migration 0012: one row per sign-in) whose first refresh token is
/// `token_id`; login and sign-up use the token's id as the sign-in's. With
/// `checked_hash` (login), only while the user's password hash is still the one the
/// password was checked against: login reads it from a replica, and a password reset
/// on the primary since must not be outlived by a sign-in made with the old password.
#[allow(clippy::too_many_arguments)]
fn insert_session(
    db: &Trip<'_>,
    token_id: &str,
    sign_in_id: &str,
    user_id: &str,
    token_hash: &str,
    now_ms: i64,
    expires_ms: i64,
    device_info: Option<&str>,
    checked_hash: Option<&str>,
) -> Statement {
    db.statement(
        concat!(
            "INSERT INTO sign_ins (id, user_id, token_id, token_hash, created_at_ms, last_used_ms, \
         expires_at_ms, device_info) SELECT ?2, ?3, ?1, ?4, ?5, ?5, ?6, ?7 \
         WHERE ?8 IS NULL OR ",
            password_unchanged!("?3", "?8")
        ),
        &[
            text(token_id),
            text(sign_in_id),
            text(user_id),
            text(token_hash),
            num(now_ms),
            num(expires_ms),
            opt_text(device_info),
            opt_text(checked_hash),
        ],
    )
}

// ---- authorization ---------------------------------------------------------------------

pub struct Membership {
    pub role: String,
    /// The member's address as stored now (security notices go to it).
    pub email: String,
    pub email_verified_at_ms: Option<f64>,
    pub org_banned: bool,
}

/// The caller's role in an organization, whether their email is verified (now, not as
/// of their token) and whether the organization is banned, in one read — if their
/// sign-in is live ([`live_sign_in`]): on the primary before a write (a ban or an
/// ended sign-in stops writes at once), else possibly on a replica. `In(None)`: not a
/// member.
pub async fn membership(
    db: &Db,
    caller: &AccessClaims,
    org_id: &str,
    route: Route,
) -> Result<Signed<Option<Membership>>, Problem> {
    read_signed_in(db, route, |route| async move {
        let trip = db.trip(route, "accounts.membership");
        let statement = trip.statement(
            format!(
                "SELECT m.role, u.email, u.email_verified_at_ms, o.banned, {} AS live \
                 FROM users u LEFT JOIN org_members m ON m.user_id = u.id AND m.org_id = ?2 \
                 LEFT JOIN organizations o ON o.id = m.org_id WHERE u.id = ?1",
                sign_in_state("?1", "?3")
            ),
            &[text(&caller.sub), text(org_id), text(&caller.sid)],
        );
        let row = trip.first::<MembershipRow>(statement).await?;
        let state = row.as_ref().and_then(|r| r.live);
        let membership = row.and_then(|r| {
            r.role.map(|role| Membership {
                role,
                email: r.email,
                email_verified_at_ms: r.email_verified_at_ms,
                org_banned: r.banned.unwrap_or(0) != 0,
            })
        });
        Ok((state, membership))
    })
    .await
}

gatehouse_core::d1_row! {
    struct MembershipRow {
        role: Option<String>,
        email: String,
        email_verified_at_ms: Option<f64>,
        banned: Option<i64>,
        live: Option<i64>,
    }
}

gatehouse_core::d1_row! {
    /// A user as their profile shows them, with their primary organization.
    pub struct Profile {
        pub id: String,
        pub email: String,
        pub first_name: String,
        pub last_name: String,
        pub email_verified_at_ms: Option<f64>,
        pub is_business: i64,
        pub org_id: Option<String>,
        pub role: Option<String>,
        live: Option<i64>,
    }
}

/// The caller's profile, if their sign-in is live (an unknown user has none).
pub async fn profile(db: &Db, caller: &AccessClaims) -> Result<Signed<Profile>, Problem> {
    let what = "accounts.profile";
    let read = read_signed_in(db, Route::Replica, |route| async move {
        let trip = db.trip(route, what);
        let statement = trip.statement(
            format!(
                "SELECT u.id, u.email, u.first_name, u.last_name, u.email_verified_at_ms, \
                   u.is_business, m.org_id, m.role, {} AS live FROM users u \
                 LEFT JOIN org_members m ON m.user_id = u.id AND m.org_id = \
                   (SELECT org_id FROM org_members WHERE user_id = u.id \
                    ORDER BY created_at_ms LIMIT 1) \
                 WHERE u.id = ?1",
                sign_in_state("?1", "?2")
            ),
            &[text(&caller.sub), text(&caller.sid)],
        );
        let profile = trip.first::<Profile>(statement).await?;
        Ok((profile.as_ref().and_then(|p| p.live), profile))
    })
    .await?;
    // A live sign-in is one of the user's, so the user is there.
    Ok(match read {
        Signed::In(Some(p)) => Signed::In(p),
        _ => Signed::Ended,
    })
}
