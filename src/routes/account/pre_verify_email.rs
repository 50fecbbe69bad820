//! `POST /user/pre-verify-email {"token"}` — whether a verification link is still good,
//! without using it (the Flashback client asks before showing its confirmation step):
//! `{success, message, authMethod: "password", hasPassword: true}` (every gatehouse
//! account signs in with a password), or `INVALID_LINK` / `LINK_EXPIRED`.

use super::error;
use crate::store::accounts::{self, LinkState, OneTimeLink};
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::account::string_field;
use gatehouse_core::account::verification::{expired_link, token_hash, unusable_link};
use gatehouse_core::http::problem::Problem;
use serde_json::json;
use worker::{Env, Request, Response};

pub async fn handle(mut req: Request, env: &Env, db: &Db) -> Result<Response, Problem> {
    config::require(env)?;
    let body = http::read_body(&mut req).await?;
    let token = match string_field(&body, "token") {
        Ok(t) => t,
        Err(e) => return Ok(error(&e)),
    };
    let now_ms = crate::clock::now_ms();
    Ok(
        match accounts::link_state(db, OneTimeLink::Verification, &token_hash(&token), now_ms)
            .await?
        {
            LinkState::Usable { .. } => http::json(
                200,
                &json!({"success": true, "message": "The link is valid", "authMethod": "password", "hasPassword": true}),
            ),
            LinkState::Expired => error(&expired_link()),
            LinkState::Unusable => error(&unusable_link()),
        },
    )
}
