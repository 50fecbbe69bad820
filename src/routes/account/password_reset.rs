//! Password reset, the Flashback client's `requestPasswordReset` and `resetPassword`:
//!
//! - `POST /user/request-reset-password {"email"}` always answers the same (no account
//!   enumeration); for an existing account at most one link a minute goes out, after
//!   the response, valid one hour, single use (core::account::password_reset);
//! - `GET /user/reset-password?token=` — the emailed link: a form for the new password
//!   (opening it changes nothing);
//! - `POST /user/reset-password {"token","newPassword"}` (JSON → JSON), or the page's
//!   form (→ an HTML page): the password policy of sign-up (`WEAK_PASSWORD`); success
//!   ends every sign-in of the account, and the old password stops working.

use super::{error, new_id};
use crate::email::send_reset_later;
use crate::store::accounts::{self, Reset};
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::account::password_reset::{reset_page, RESET_INTERVAL_MS, RESET_TTL_MS};
use gatehouse_core::account::verification::{new_token, page as html_page, token_hash};
use gatehouse_core::account::{string_field, AccountError, Email, ErrorCode, NewPassword};
use gatehouse_core::crypto::password;
use gatehouse_core::http::problem::Problem;
use gatehouse_core::http::query::{form_param, query_param};
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
    let now_ms = worker::Date::now().as_millis() as i64;
    let Some(target) = accounts::reset_target(db, email.as_str()).await? else {
        return Ok(accepted);
    };
    if target
        .last_sent_ms
        .is_some_and(|t| now_ms - (t as i64) < RESET_INTERVAL_MS)
    {
        return Ok(accepted);
    }
    let (token, hash) = new_token().map_err(|_| Problem::Internal)?;
    accounts::new_reset(db, &target.id, &hash, now_ms, now_ms + RESET_TTL_MS).await?;
    let name = format!("{} {}", target.first_name, target.last_name);
    send_reset_later(ctx, env, &config, email.as_str(), &name, &token);
    Ok(accepted)
}

/// GET: the form (no D1 access).
pub async fn page(req: Request) -> Result<Response, Problem> {
    let token = query_param(&req.inner().url(), "token").unwrap_or_default();
    Ok(if token.is_empty() {
        http::html(
            400,
            html_page("Invalid link", "<p>This link is not valid.</p>"),
        )
    } else {
        http::html(200, reset_page(&token))
    })
}

pub async fn reset(mut req: Request, env: &Env, db: &Db) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let is_form = http::is_form(&req);
    let body = http::read_body(&mut req).await?;
    let fields = if is_form {
        let form = String::from_utf8_lossy(&body).into_owned();
        let field = |name| {
            form_param(&form, name)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| AccountError::invalid_input(format!("{name} is required")))
        };
        field("token").and_then(|t| field("newPassword").map(|p| (t, p)))
    } else {
        string_field(&body, "token")
            .and_then(|t| string_field(&body, "newPassword").map(|p| (t, p)))
    };
    let outcome = match fields.and_then(|(token, raw)| Ok((token, NewPassword::parse(&raw)?))) {
        Ok((token, new_password)) => {
            let hash = password::hash(
                new_password.expose().as_bytes(),
                config.password_kdf,
                config.password_kdf_iterations,
            )
            .map_err(|_| Problem::Internal)?;
            let now_ms = worker::Date::now().as_millis() as i64;
            match accounts::reset_password(db, &token_hash(&token), &new_id()?, &hash, now_ms)
                .await?
            {
                Reset::Done => Ok(()),
                Reset::Expired => Err(AccountError::new(
                    ErrorCode::LinkExpired,
                    "This password reset link has expired; ask for a new one",
                )),
                Reset::Invalid => Err(AccountError::new(
                    ErrorCode::InvalidLink,
                    "This password reset link is not valid or was already used",
                )),
            }
        }
        Err(e) => Err(e),
    };
    Ok(match (outcome, is_form) {
        (Ok(()), false) => http::json(
            200,
            &json!({"success": true, "message": "Password changed; sign in with the new one"}),
        ),
        (Ok(()), true) => http::html(
            200,
            html_page(
                "Password changed",
                "<p>Your password is changed. Sign in with the new one.</p>",
            ),
        ),
        (Err(e), false) => error(&e),
        (Err(e), true) => http::html(
            e.status(),
            html_page(
                "Password not changed",
                &format!(
                    "<p>{}</p>",
                    gatehouse_core::account::verification::html_escape(&e.message)
                ),
            ),
        ),
    })
}
