//! `POST /user/logout {"refresh_token"}` (or `refreshToken`) — signs out: every refresh
//! token of that sign-in stops working (401 on refresh). Idempotent: signing out of a
//! sign-in that is already over answers the same. One D1 statement. A retired token
//! (one a refresh replaced) signs out too, but as reuse (store::accounts::sign_out),
//! also past its expiry: an expired token still names its sign-in, which may live on in
//! the hands of whoever refreshed it since.

use super::error;
use crate::store::accounts;
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::account::tokens::{verify_refresh, verify_rotating};
use gatehouse_core::account::{refresh_token_field, AccountError, ErrorCode};
use gatehouse_core::http::problem::Problem;
use serde_json::json;
use worker::{Env, Request, Response};

pub async fn handle(mut req: Request, env: &Env, db: &Db) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let body = http::read_body(&mut req).await?;
    let presented = match refresh_token_field(&body) {
        Ok(t) => t,
        Err(e) => return Ok(error(&e)),
    };
    let now_ms = crate::clock::now_ms();
    // An expired token still names its sign-in; a forged one names nothing.
    let verify = |secret: &[u8]| verify_refresh(secret, &presented, now_ms);
    let Ok(signed) = verify_rotating(verify, config.jwt_secret.expose(), config.jwt_previous())
    else {
        return Ok(error(&AccountError::new(
            ErrorCode::InvalidToken,
            "Invalid refresh token",
        )));
    };
    crate::rate_limit::signed_in(&req, env, &config).await?;
    accounts::sign_out(db, &signed.claims, now_ms).await?;
    Ok(http::json(
        200,
        &json!({"success": true, "message": "Signed out"}),
    ))
}
