//! `DELETE /organization/{idOrg}/node-env/{service}` — OWNER or ADMINISTRATOR (verified
//! email, organization not banned) removes one service's environment; audited
//! (`ENV_DELETE`) in the same batch. The organization's installers then get a 404
//! naming it from `POST /secrets` until it is set again.

use crate::routes::account::{authorize, error, new_id, Access};
use crate::store::node_env::{self, Change};
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::account::{AccountError, ErrorCode};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::node_env::Service;
use serde_json::json;
use worker::{Env, Request, Response};

/// Service environments are credentials: only OWNER and ADMINISTRATOR see even which
/// are set, and never in a banned organization (as for keys).
pub const MANAGE_NODE_ENV: Access = Access {
    roles: &["OWNER", "ADMINISTRATOR"],
    writes: true,
};

/// The path's service, or the 404 that names the three (after the gate, so a
/// stranger learns nothing from it).
pub fn service_or_refusal(raw: &str) -> Result<Service, Response> {
    Service::parse(raw).map_err(|e| error(&AccountError::new(ErrorCode::NotFound, &e.0)))
}

pub async fn handle(
    req: Request,
    env: &Env,
    db: &Db,
    org_id: &str,
    service: &str,
) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let caller = match authorize(&req, db, &config, org_id, MANAGE_NODE_ENV).await? {
        Ok(c) => c,
        Err(refusal) => return Ok(refusal),
    };
    let service = match service_or_refusal(service) {
        Ok(s) => s,
        Err(refusal) => return Ok(refusal),
    };
    let change = Change {
        org_id,
        service: service.as_str(),
        actor_user_id: &caller.user_id,
        audit_id: &new_id()?,
        now_ms: crate::clock::now_ms(),
    };
    if !node_env::delete(db, &change).await? {
        return Ok(error(&AccountError::new(
            ErrorCode::NotFound,
            "No environment is set for this service",
        )));
    }
    Ok(http::json(
        200,
        &json!({"success": true, "message": format!("{} environment deleted", service.as_str())}),
    ))
}
