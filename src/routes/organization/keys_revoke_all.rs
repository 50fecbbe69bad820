//! `DELETE /organization/{idOrg}/key` — revokes every active key (the client's
//! `deleteOrgKeys`; OWNER/ADMINISTRATOR). Rows and audit entries remain; nodes can no
//! longer register with any of them. One D1 batch.

use crate::routes::account::{authorize, new_id, MANAGE_KEYS};
use crate::store::org_keys;
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::http::problem::Problem;
use serde_json::json;
use worker::{Env, Request, Response};

pub async fn handle(req: Request, env: &Env, db: &Db, org_id: &str) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let caller = match authorize(&req, db, &config, org_id, MANAGE_KEYS).await? {
        Ok(c) => c,
        Err(refusal) => return Ok(refusal),
    };
    let now_ms = crate::clock::now_ms();
    let revoked = org_keys::revoke_all(db, org_id, &caller.user_id, &new_id()?, now_ms).await?;
    Ok(http::json(
        200,
        &json!({"success": true, "message": format!("Successfully deleted {revoked} organization key(s)")}),
    ))
}
