//! The authentication extractor for authenticated endpoints.
//!
//! A bearer access token identifies the user; every authenticated *write* then goes
//! through [`require_member`], which reads the user's current role and verification
//! state (not the token's possibly stale claim) and refuses unverified accounts with
//! 403 `EMAIL_NOT_VERIFIED`.

use crate::store::accounts;
use gatehouse_core::account::tokens::{verify_access, AccessClaims, TokenError};
use gatehouse_core::account::{AccountError, ErrorCode};
use gatehouse_core::config::Config;
use gatehouse_core::problem::Problem;
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

pub fn authenticate(
    req: &Request,
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
    verify_access(config.jwt_secret.expose(), token, now_ms).map_err(|e| match e {
        TokenError::Expired => refuse(ErrorCode::TokenExpired, "Access token expired"),
        TokenError::Invalid => refuse(ErrorCode::Unauthorized, "Invalid access token"),
    })
}

/// The caller's role in `org_id`, if it is one of `allowed` and their email is verified.
pub async fn require_member(
    env: &Env,
    claims: &AccessClaims,
    org_id: &str,
    allowed: &[&str],
) -> Result<String, AuthError> {
    let Some(membership) = accounts::membership(env, &claims.sub, org_id).await? else {
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
    if !allowed.contains(&membership.role.as_str()) {
        return Err(refuse(
            ErrorCode::Forbidden,
            "Your role in this organization does not allow this",
        ));
    }
    Ok(membership.role)
}
