//! `POST /user/login {"email","password"}` — same body as sign-up (200).
//!
//! A wrong email and a wrong password cost the same: an unknown email still runs the
//! KDF against a dummy hash, so response time does not reveal which accounts exist.

use super::account::{error, new_session, session_response, SessionUser};
use crate::store::accounts;
use crate::{config, http};
use gatehouse_core::account::{string_field, AccountError, Email, ErrorCode};
use gatehouse_core::config::{Config, KdfHash};
use gatehouse_core::password;
use gatehouse_core::problem::Problem;
use worker::{Env, Request, Response};

pub async fn handle(mut req: Request, env: &Env) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let body = http::read_body(&mut req).await?;
    let (email, password_text) = match (
        string_field(&body, "email"),
        string_field(&body, "password"),
    ) {
        (Ok(e), Ok(p)) => (e, p),
        (Err(e), _) | (_, Err(e)) => return Ok(error(&e)),
    };
    let invalid = || {
        error(&AccountError::new(
            ErrorCode::InvalidCredentials,
            "Invalid email or password",
        ))
    };
    let email = Email::parse(&email).ok();
    if let (Some(email), true) = (&email, config.rate_limits) {
        // Per account as well as per IP: guesses from many addresses still add up.
        let key = gatehouse_core::rate_limit::login_account_key(email.as_str());
        if let Err(problem) =
            crate::rate_limit::check(env, gatehouse_core::rate_limit::AUTH_LIMITER, key).await
        {
            return Ok(crate::http::problem_response(
                &problem,
                gatehouse_core::problem::Family::Account,
            ));
        }
    }
    let user = match &email {
        Some(email) => accounts::user_by_email(env, email.as_str()).await?,
        None => None,
    };
    let stored = user
        .as_ref()
        .map_or_else(|| dummy_hash(&config), |u| u.password_hash.clone());
    let matches = password::verify(password_text.as_bytes(), &stored).unwrap_or(false);
    let Some(user) = user.filter(|_| matches) else {
        return Ok(invalid());
    };

    let now_ms = worker::Date::now().as_millis() as i64;
    let rehash = if password::needs_rehash(
        &user.password_hash,
        config.password_kdf,
        config.password_kdf_iterations,
    ) {
        password::hash(
            password_text.as_bytes(),
            config.password_kdf,
            config.password_kdf_iterations,
        )
        .ok()
    } else {
        None
    };
    let session = new_session(&config, &user.id, now_ms)?;
    accounts::start_session(
        env,
        &user.id,
        &session.id,
        &session.refresh_hash,
        now_ms,
        session.expires_ms,
        rehash.as_deref(),
    )
    .await?;
    let session_user = SessionUser {
        id: &user.id,
        email: &user.email,
        name: format!("{} {}", user.first_name, user.last_name),
        org_id: &user.org_id,
        image_url: user.image_url.as_deref(),
        email_verified: user.email_verified_at_ms.is_some(),
    };
    Ok(session_response(
        200,
        &config,
        &session_user,
        &session,
        now_ms,
    ))
}

/// A well-formed hash at the current parameters that no password matches (its salt
/// and digest are fixed zeros), so unknown emails cost one full KDF run too.
fn dummy_hash(config: &Config) -> String {
    let (id, digest_len) = match config.password_kdf {
        KdfHash::Sha256 => ("pbkdf2-sha256", 43),
        KdfHash::Sha512 => ("pbkdf2-sha512", 86),
    };
    format!(
        "${id}$i={}$AAAAAAAAAAAAAAAAAAAAAA${}",
        config.password_kdf_iterations,
        "A".repeat(digest_len)
    )
}
