//! `DELETE /organization/{idOrg}/key/{keyId}` — revokes a key (OWNER/ADMINISTRATOR).
//! Nodes can no longer register with it; the row and an audit entry remain.

use crate::routes::account::{authorize, error, new_id, MANAGE_KEYS};
use crate::store::org_keys;
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::account::{AccountError, ErrorCode};
use gatehouse_core::http::problem::Problem;
use serde_json::json;
use worker::{Env, Request, Response};

pub async fn handle(
    req: Request,
    env: &Env,
    db: &Db,
    org_id: &str,
    key_id: &str,
) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let caller = match authorize(&req, db, &config, org_id, MANAGE_KEYS).await? {
        Ok(c) => c,
        Err(refusal) => return Ok(refusal),
    };
    let now_ms = crate::clock::now_ms();
    if !org_keys::revoke(db, org_id, key_id, &caller.user_id, &new_id()?, now_ms).await? {
        return Ok(error(&AccountError::new(
            ErrorCode::NotFound,
            "No active key with this id in this organization",
        )));
    }
    Ok(http::json(
        200,
        &json!({"success": true, "message": "Key revoked"}),
    ))
}
