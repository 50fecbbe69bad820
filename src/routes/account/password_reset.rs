//! Password reset, the Flashback client's `requestPasswordReset` and `resetPassword`:
//!
//! - `POST /user/request-reset-password {"email"}` always answers the same, after the
//!   same one D1 batch (no account enumeration by answer or round trips; SECURITY.md's
//!   "Account enumeration" says what remains); for an existing
//!   account at most one link a minute and five an hour go out
//!   (core::account::LINKS_PER_WINDOW), after the response, valid one hour, single use
//!   (core::account::password_reset);
//! - `GET /user/reset-password?token=` — the emailed link: a form for the new password
//!   (opening it changes nothing);
//! - `POST /user/reset-password {"token","newPassword"}` (JSON → JSON), or the page's
//!   form (→ an HTML page): the password policy of sign-up (`WEAK_PASSWORD`); the link
//!   is looked up before the KDF runs; success ends every sign-in of the account (its
//!   access tokens stop working at once), the old password stops working, and the
//!   login lock's counters and known networks are cleared.

use super::one_time_link::{self, Titles};
use super::{error, mail_network, new_id, unproven_mail};
use crate::email::{send_reset_later, skip_mail};
use crate::store::accounts::{self, LinkState, NewLinkOutcome, OneTimeLink, Reset};
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::account::password_reset::{
    reset_form, reset_page, RESET_INTERVAL_MS, RESET_TTL_MS,
};
use gatehouse_core::account::verification::{new_token, page as html_page, token_hash};
use gatehouse_core::account::{string_field, AccountError, Email, ErrorCode, NewPassword};
use gatehouse_core::config::Config;
use gatehouse_core::crypto::password;
use gatehouse_core::http::problem::Problem;
use gatehouse_core::http::query::query_param;
use gatehouse_core::http::rate_limit::client_network;
use serde_json::json;
use worker::{Context, Env, Request, Response};

pub async fn request(
    mut req: Request,
    env: &Env,
    db: &Db,
    ctx: &Context,
) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let body = http::read_body(&mut req).await?;
    let email = match string_field(&body, "email").and_then(|raw| Email::parse(&raw)) {
        Ok(e) => e,
        Err(e) => return Ok(error(&e)),
    };
    let accepted = http::json(
        200,
        &json!({"success": true, "message": "If an account uses this address, a link to reset its password is on its way"}),
    );
    let now_ms = crate::clock::now_ms();
    let (token, hash) = new_token().map_err(|_| Problem::Internal)?;
    let network = mail_network(&req, &config);
    let link = accounts::LinkToMake {
        token_hash: &hash,
        link_id: "",
        now_ms,
        interval_ms: RESET_INTERVAL_MS,
        expires_ms: now_ms + RESET_TTL_MS,
        mail: unproven_mail(&config, network.as_deref()),
    };
    // One batch whether or not an account has the address (no enumeration by timing).
    match accounts::new_reset(db, email.as_str(), link).await? {
        NewLinkOutcome::Made(_) => send_reset_later(ctx, env, &config, email.as_str(), &token),
        NewLinkOutcome::Held => skip_mail("password reset", "budget"),
        NewLinkOutcome::NotDue => {}
    }
    Ok(accepted)
}

/// GET: the form (no D1 access).
pub async fn page(req: Request) -> Result<Response, Problem> {
    // One that does not decode is as invalid as none (`.ok()`): the same page says so.
    let token = query_param(&req.inner().url(), "token")
        .ok()
        .flatten()
        .unwrap_or_default();
    Ok(if token.is_empty() {
        http::html(
            400,
            html_page("Invalid link", "<p>This link is not valid.</p>"),
        )
    } else {
        http::html(200, reset_page(&token))
    })
}

const TITLES: Titles = Titles {
    done: "Password changed",
    refused: |_| "Password not changed",
};

pub async fn reset(mut req: Request, env: &Env, db: &Db) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let network = client_network(&crate::rate_limit::client_ip(&req));
    let post = match one_time_link::read(&mut req, &config).await? {
        Ok(post) => post,
        Err(refused) => return Ok(one_time_link::answer(true, TITLES, Err(refused))),
    };
    let fields = post.field("token").and_then(|token| {
        let new_password = NewPassword::parse(&post.field("newPassword")?)?;
        Ok((token, new_password))
    });
    let outcome = match fields {
        Ok((token, new_password)) => {
            reset_with(db, &config, &token, &new_password, &network).await?
        }
        Err(e) => Err(e),
    };
    // A password the policy refuses, on the page: the form again, the error under the
    // field (a dead link gets the plain refusal page).
    if let (true, Ok(token), Err(e)) = (post.is_form, post.field("token"), &outcome) {
        if matches!(e.code, ErrorCode::WeakPassword | ErrorCode::InvalidInput) {
            let body = reset_form(&token, Some(&e.message));
            return Ok(http::html(
                e.status(),
                html_page((TITLES.refused)(e.code), &body),
            ));
        }
    }
    let message = "Password changed; sign in with the new one";
    Ok(one_time_link::answer(
        post.is_form,
        TITLES,
        outcome.map(|()| message),
    ))
}

/// The link first: a made-up or used token costs one read, no KDF run.
async fn reset_with(
    db: &Db,
    config: &Config,
    token: &str,
    new_password: &NewPassword,
    network: &str,
) -> Result<Result<(), AccountError>, Problem> {
    let now_ms = crate::clock::now_ms();
    let hash = token_hash(token);
    let expired = || {
        AccountError::new(
            ErrorCode::LinkExpired,
            "This password reset link has expired; ask for a new one",
        )
    };
    let invalid = || {
        AccountError::new(
            ErrorCode::InvalidLink,
            "This password reset link is not valid or was already used",
        )
    };
    match accounts::link_state(db, OneTimeLink::PasswordReset, &hash, now_ms).await? {
        LinkState::Usable { .. } => {}
        LinkState::Expired => return Ok(Err(expired())),
        LinkState::Unusable => return Ok(Err(invalid())),
    }
    let password_hash = password::hash(
        new_password.expose().as_bytes(),
        config.password_kdf,
        config.password_kdf_iterations,
    )
    .map_err(|_| Problem::Internal)?;
    Ok(
        match accounts::reset_password(db, &hash, &new_id()?, &password_hash, network, now_ms)
            .await?
        {
            Reset::Done => Ok(()),
            Reset::Expired => Err(expired()),
            Reset::Invalid => Err(invalid()),
        },
    )
}
