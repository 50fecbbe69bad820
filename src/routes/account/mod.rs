//! The account routes (`/user/*`, `/token`), one file each, and what they share:
//! error rendering, authentication refusals, issuing a session.

pub mod login;
pub mod logout;
mod one_time_link;
pub mod password_reset;
pub mod pre_verify_email;
pub mod profile;
pub mod refresh;
pub mod resend_verification;
pub mod tokens;
pub mod user_register;
pub mod verify_email;

use crate::auth::AuthError;
use crate::http;
use crate::store::accounts::UnprovenMail;
use gatehouse_core::account::roles;
use gatehouse_core::account::tokens::{
    issue_access, issue_refresh, ACCESS_TTL_SECONDS, REFRESH_TTL_SECONDS,
};
use gatehouse_core::account::verification::token_hash;
use gatehouse_core::account::AccountError;
use gatehouse_core::config::Config;
use gatehouse_core::crypto::uuid_v4;
use gatehouse_core::http::problem::Problem;
use gatehouse_core::node_secret::registering_network;
use serde_json::json;
use worker::Response;

/// The network a request's mail to an unproven address counts against (its share of
/// the hour's budget, store::accounts::UnprovenMail), as node ids count theirs: while
/// rate limits are on (locally every request comes from one address).
pub fn mail_network(req: &worker::Request, config: &Config) -> Option<String> {
    config
        .rate_limits
        .then(|| registering_network(&crate::rate_limit::client_ip(req)))
        .flatten()
}

/// The hour's budget a mail to an unproven address is counted in, with `network`'s
/// share ([`mail_network`]).
pub fn unproven_mail<'a>(config: &Config, network: Option<&'a str>) -> UnprovenMail<'a> {
    UnprovenMail {
        per_hour: config.unverified_mail_per_hour,
        network: network.map(|n| (n, config.unverified_mail_per_network)),
    }
}

pub fn error(e: &AccountError) -> Response {
    http::json(e.status(), &e.body())
}

/// Renders an authentication/authorization refusal, or passes a storage problem on.
pub fn auth_refused(e: AuthError) -> Result<Response, Problem> {
    match e {
        AuthError::Account(e) => Ok(error(&e)),
        AuthError::Problem(p) => Err(p),
    }
}

/// New random ids, or an internal error when the platform has no randomness.
pub fn new_id() -> Result<String, Problem> {
    uuid_v4().map_err(|_| Problem::Internal)
}

/// A fresh refresh token: its id (the JWT's `jti`, `tokenId`), the token, the hash
/// stored for it, and when it expires.
pub struct NewSession {
    pub id: String,
    pub refresh_token: String,
    pub refresh_hash: String,
    pub expires_ms: i64,
}

/// A refresh token of the sign-in `sign_in` (a rotation), or of a new sign-in (`None`:
/// login and sign-up, whose sign-in takes the first token's id).
pub fn new_session(
    config: &Config,
    user_id: &str,
    sign_in: Option<&str>,
    now_ms: i64,
) -> Result<NewSession, Problem> {
    let id = new_id()?;
    let sign_in_id = sign_in.map_or_else(|| id.clone(), str::to_owned);
    let refresh_token = issue_refresh(
        config.jwt_secret.expose(),
        user_id,
        &id,
        &sign_in_id,
        now_ms,
    );
    let refresh_hash = token_hash(&refresh_token);
    Ok(NewSession {
        id,
        refresh_token,
        refresh_hash,
        expires_ms: now_ms + REFRESH_TTL_SECONDS * 1000,
    })
}

pub struct SessionUser<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub name: String,
    pub org_id: &'a str,
    /// The stored role name in `org_id` (answered as Flashback's number).
    pub role: &'a str,
    pub image_url: Option<&'a str>,
    pub email_verified: bool,
    /// Sign-up only: the id of the verification link, for
    /// `POST /user/resend-verification/{verificationTokenId}`.
    pub verification_token_id: Option<&'a str>,
}

/// The body of sign-up and login: tokens and the user.
pub fn session_response(
    status: u16,
    config: &Config,
    user: &SessionUser<'_>,
    session: &NewSession,
    now_ms: i64,
) -> Response {
    let access = issue_access(
        config.jwt_secret.expose(),
        user.id,
        user.org_id,
        user.email_verified,
        &session.id,
        now_ms,
    );
    let mut body = json!({
        "success": true,
        "accessToken": access,
        "refreshToken": session.refresh_token,
        "tokenId": session.id,
        // When the access token expires, Unix milliseconds.
        "expiresAt": now_ms + ACCESS_TTL_SECONDS * 1000,
        "user": {
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "orgId": user.org_id,
            "orgRole": roles::number(user.role),
            "image_url": user.image_url,
        },
    });
    if let Some(id) = user.verification_token_id {
        body["verificationTokenId"] = json!(id);
    }
    http::json(status, &body)
}
