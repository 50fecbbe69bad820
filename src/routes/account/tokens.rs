//! The caller's sign-ins, as the Flashback client's `getTokens` and `revokeToken` see
//! them: `GET /token` lists each live sign-in (`id` is the sign-in's own, the `tokenId`
//! its login answered, what `DELETE /token/{tokenId}` takes: no refresh changes it, so
//! a holder refreshing in a loop cannot make the listed id stale; `current` marks the
//! one the bearer belongs to); `DELETE /token/{tokenId}` ends one of the caller's own
//! sign-ins, named by that id or by its current refresh token's. One D1 round
//! trip each, which also checks the caller's own sign-in is live (else 401
//! `SESSION_ENDED`).

use super::{auth_refused, error};
use crate::auth;
use crate::store::accounts::{self, Signed};
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::account::{AccountError, ErrorCode};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::time::format_rfc3339_ms;
use serde_json::{json, Value};
use worker::{Env, Request, Response};

pub async fn list(req: Request, env: &Env, db: &Db) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let now_ms = crate::clock::now_ms();
    let claims = match auth::authenticate(&req, env, &config, now_ms).await {
        Ok(c) => c,
        Err(e) => return auth_refused(e),
    };
    let Signed::In(sessions) = accounts::live_sessions(db, &claims, now_ms).await? else {
        return Ok(error(&auth::session_ended()));
    };
    let tokens: Vec<Value> = sessions
        .iter()
        .map(|s| {
            let at = |ms: f64| format_rfc3339_ms(ms as i64);
            json!({
                "id": s.id,
                "createdAt": at(s.signed_in_ms.unwrap_or(s.last_used_ms)),
                "lastUsedAt": at(s.last_used_ms),
                "expiresAt": at(s.expires_at_ms),
                "deviceInfo": s.device_info.as_deref()
                    .and_then(|d| serde_json::from_str::<Value>(d).ok()),
                "current": !claims.sid.is_empty() && s.id == claims.sid,
            })
        })
        .collect();
    Ok(http::json(200, &json!({"success": true, "tokens": tokens})))
}

pub async fn revoke(req: Request, env: &Env, db: &Db, token_id: &str) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let now_ms = crate::clock::now_ms();
    let claims = match auth::authenticate(&req, env, &config, now_ms).await {
        Ok(c) => c,
        Err(e) => return auth_refused(e),
    };
    match accounts::end_sign_in(db, &claims, token_id, now_ms).await? {
        Signed::Ended => return Ok(error(&auth::session_ended())),
        Signed::In(false) => {
            return Ok(error(&AccountError::new(
                ErrorCode::NotFound,
                "No live session with this id",
            )))
        }
        Signed::In(true) => {}
    }
    Ok(http::json(
        200,
        &json!({"success": true, "message": "Session ended"}),
    ))
}
