//! `DELETE /organization/{idOrg}/key` — revokes every active key (the client's
//! `deleteOrgKeys`; OWNER/ADMINISTRATOR). Rows and audit entries remain; nodes can no
//! longer register with any of them. One D1 batch.

use super::{stopped, Gated};
use crate::http;
use crate::routes::account::new_id;
use crate::store::org_keys;
use crate::store::Db;
use gatehouse_core::http::problem::Problem;
use serde_json::json;
use worker::Response;

pub async fn handle(
    db: &Db,
    Gated { org_id, caller, .. }: &Gated<'_>,
) -> Result<Response, Problem> {
    let now_ms = crate::clock::now_ms();
    let revoked = match org_keys::revoke_all(db, org_id, caller.actor(), &new_id()?, now_ms).await?
    {
        Ok(revoked) => revoked,
        Err(why) => return Ok(stopped(why)),
    };
    Ok(http::json(
        200,
        &json!({"success": true, "message": format!("Successfully deleted {revoked} organization key(s)")}),
    ))
}
