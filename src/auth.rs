//! The authentication extractor for authenticated endpoints.
//!
//! A bearer access token identifies the user and their sign-in (`sid`); every
//! authenticated route then makes one read that also checks that sign-in is still live
//! (store::accounts::live_sign_in) and answers 401 `SESSION_ENDED` when it is not, so
//! a token stops working with its sign-in (logout, `DELETE /token/{id}`, a password
//! reset). Organization routes go through [`require_member`], which reads the user's
//! current role and verification state (not the token's possibly stale claim) and
//! refuses unverified accounts with 403 `EMAIL_NOT_VERIFIED`.

use crate::store::accounts::{self, Signed};
use crate::store::{Db, Route};
use gatehouse_core::account::tokens::{verify_access, verify_rotating, AccessClaims, TokenError};
use gatehouse_core::account::{AccountError, ErrorCode};
use gatehouse_core::config::Config;
use gatehouse_core::http::problem::Problem;
use worker::{Env, Request};

pub enum AuthError {
    Account(AccountError),
    Problem(Problem),
}

impl From<Problem> for AuthError {
    fn from(p: Problem) -> Self {
        AuthError::Problem(p)
    }
}

fn refuse(code: ErrorCode, message: &str) -> AuthError {
    AuthError::Account(AccountError::new(code, message))
}

/// The refusal of a valid access token whose sign-in has ended.
pub fn session_ended() -> AccountError {
    AccountError::new(
        ErrorCode::SessionEnded,
        "This sign-in has ended; sign in again",
    )
}

/// The claims of the request's bearer access token, once it verifies and its call is
/// counted in the network's signed-in budget (core::http::rate_limit::signed_in: a
/// request refused here has read nothing).
pub async fn authenticate(
    req: &Request,
    env: &Env,
    config: &Config,
    now_ms: i64,
) -> Result<AccessClaims, AuthError> {
    let header = req
        .headers()
        .get("authorization")
        .ok()
        .flatten()
        .unwrap_or_default();
    let token = header
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| refuse(ErrorCode::Unauthorized, "Missing bearer access token"))?;
    let verify = |secret: &[u8]| verify_access(secret, token, now_ms);
    let claims = verify_rotating(verify, config.jwt_secret.expose(), config.jwt_previous())
        .map_err(|e| match e {
            TokenError::Expired => refuse(ErrorCode::TokenExpired, "Access token expired"),
            TokenError::Invalid => refuse(ErrorCode::Unauthorized, "Invalid access token"),
        })?;
    crate::rate_limit::signed_in(req, env, config).await?;
    Ok(claims)
}

/// What an organization endpoint requires of its caller.
#[derive(Clone, Copy)]
pub struct Access {
    /// Roles that may call it.
    pub roles: &'static [&'static str],
    /// Whether it writes: a banned organization can no longer write anything.
    pub writes: bool,
}

/// The caller's membership of `org_id` (role and address), if the role is one of
/// `access.roles`, their email is verified and, for writes, the organization is not
/// banned.
pub async fn require_member(
    db: &Db,
    claims: &AccessClaims,
    org_id: &str,
    access: Access,
) -> Result<accounts::Membership, AuthError> {
    let route = if access.writes {
        Route::Primary
    } else {
        Route::Replica
    };
    let Signed::In(membership) = accounts::membership(db, claims, org_id, route).await? else {
        return Err(AuthError::Account(session_ended()));
    };
    let Some(membership) = membership else {
        return Err(refuse(
            ErrorCode::Forbidden,
            "Not a member of this organization",
        ));
    };
    if membership.email_verified_at_ms.is_none() {
        return Err(refuse(
            ErrorCode::EmailNotVerified,
            "Verify your email address first",
        ));
    }
    if !access.roles.contains(&membership.role.as_str()) {
        return Err(refuse(
            ErrorCode::Forbidden,
            "Your role in this organization does not allow this",
        ));
    }
    if access.writes && membership.org_banned {
        return Err(refuse(
            ErrorCode::OrgBanned,
            "This organization is banned; it can no longer make changes",
        ));
    }
    Ok(membership)
}
