//! `POST /user/resend-verification {"email"}` — a fresh link, invalidating older ones.
//!
//! The answer is the same whether or not the account exists or is verified, so this
//! cannot be used to probe for accounts; at most one link per minute per account.

use super::account::error;
use crate::email::send_verification_later;
use crate::store::accounts;
use crate::{config, http};
use gatehouse_core::account::verification::{new_token, RESEND_INTERVAL_MS, VERIFICATION_TTL_MS};
use gatehouse_core::account::{string_field, Email};
use gatehouse_core::problem::Problem;
use serde_json::json;
use worker::{Context, Env, Request, Response};

pub async fn handle(mut req: Request, env: &Env, ctx: &Context) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let body = http::read_body(&mut req).await?;
    let email = match string_field(&body, "email").and_then(|raw| Email::parse(&raw)) {
        Ok(e) => e,
        Err(e) => return Ok(error(&e)),
    };
    let accepted = http::json(
        202,
        &json!({"success": true, "message": "If an unverified account uses this address, a new link is on its way"}),
    );
    let now_ms = worker::Date::now().as_millis() as i64;
    let Some(target) = accounts::resend_target(env, email.as_str()).await? else {
        return Ok(accepted);
    };
    let recently = target
        .last_sent_ms
        .is_some_and(|t| now_ms - (t as i64) < RESEND_INTERVAL_MS);
    if target.email_verified_at_ms.is_some() || recently {
        return Ok(accepted);
    }
    let (token, hash) = new_token().map_err(|_| Problem::Internal)?;
    accounts::replace_verification(env, &target.id, &hash, now_ms, now_ms + VERIFICATION_TTL_MS)
        .await?;
    let name = format!("{} {}", target.first_name, target.last_name);
    send_verification_later(ctx, env, &config, email.as_str(), &name, &token);
    Ok(accepted)
}
