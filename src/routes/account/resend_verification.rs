//! A fresh verification link, invalidating older ones: `POST
//! /user/resend-verification {"email"}`, or the Flashback client's `POST
//! /user/resend-verification/{verificationTokenId}` with no body (the id sign-up
//! answered).
//!
//! The answer is the same whether or not the account exists or is verified, and so is
//! the work behind it (one D1 batch either way, store::accounts::resend_verification),
//! so this cannot be used to probe for accounts; at most one link a minute and five an
//! hour per account (core::account::LINKS_PER_WINDOW).

use super::{error, mail_network, new_id, unproven_mail};
use crate::email::{send_verification_later, skip_mail};
use crate::store::accounts::{self, NewLinkOutcome, ResendBy};
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::account::verification::{new_token, RESEND_INTERVAL_MS, VERIFICATION_TTL_MS};
use gatehouse_core::account::{string_field, Email};
use gatehouse_core::http::problem::Problem;
use serde_json::json;
use worker::{Context, Env, Request, Response};

/// `{"email"}` in the body.
pub async fn by_email(
    mut req: Request,
    env: &Env,
    db: &Db,
    ctx: &Context,
) -> Result<Response, Problem> {
    let body = http::read_body(&mut req).await?;
    let email = match string_field(&body, "email").and_then(|raw| Email::parse(&raw)) {
        Ok(e) => e,
        Err(e) => return Ok(error(&e)),
    };
    resend(&req, env, db, ctx, ResendBy::Email(email.as_str())).await
}

/// The link id in the path, no body.
pub async fn by_link_id(
    req: Request,
    env: &Env,
    db: &Db,
    ctx: &Context,
    link_id: &str,
) -> Result<Response, Problem> {
    resend(&req, env, db, ctx, ResendBy::LinkId(link_id)).await
}

async fn resend(
    req: &Request,
    env: &Env,
    db: &Db,
    ctx: &Context,
    by: ResendBy<'_>,
) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let accepted = http::json(
        202,
        &json!({"success": true, "message": "If an unverified account uses this address, a new link is on its way"}),
    );
    let now_ms = crate::clock::now_ms();
    let (token, hash) = new_token().map_err(|_| Problem::Internal)?;
    let link_id = new_id()?;
    let network = mail_network(req, &config);
    let link = accounts::LinkToMake {
        token_hash: &hash,
        link_id: &link_id,
        now_ms,
        interval_ms: RESEND_INTERVAL_MS,
        expires_ms: now_ms + VERIFICATION_TTL_MS,
        mail: unproven_mail(&config, network.as_deref()),
    };
    match accounts::resend_verification(db, by, link).await? {
        NewLinkOutcome::Made(email) => send_verification_later(ctx, env, &config, &email, &token),
        NewLinkOutcome::Held => skip_mail("verification", "budget"),
        NewLinkOutcome::NotDue => {}
    }
    Ok(accepted)
}
