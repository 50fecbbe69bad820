//! `DELETE /organization/{idOrg}/key/{keyId}` — revokes a key (OWNER/ADMINISTRATOR).
//! Nodes can no longer register with it; the row and an audit entry remain.

use super::{stopped, Gated};
use crate::http;
use crate::routes::account::{error, new_id};
use crate::store::org_keys::{self, Revoked};
use crate::store::Db;
use gatehouse_core::account::{AccountError, ErrorCode};
use gatehouse_core::http::problem::Problem;
use serde_json::json;
use worker::Response;

pub async fn handle(
    db: &Db,
    Gated { org_id, caller, .. }: &Gated<'_>,
    key_id: &str,
) -> Result<Response, Problem> {
    let now_ms = crate::clock::now_ms();
    match org_keys::revoke(db, org_id, key_id, caller.actor(), &new_id()?, now_ms).await? {
        Revoked::Done => {}
        Revoked::Stopped(why) => return Ok(stopped(why)),
        Revoked::NotFound => {
            return Ok(error(&AccountError::new(
                ErrorCode::NotFound,
                "No active key with this id in this organization",
            )))
        }
    }
    Ok(http::json(
        200,
        &json!({"success": true, "message": "Key revoked"}),
    ))
}
