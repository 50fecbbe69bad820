//! `DELETE /organization/{idOrg}/node-env/{service}` — OWNER or ADMINISTRATOR (verified
//! email, organization not banned) removes one service's environment; audited
//! (`ENV_DELETE`) in the same batch. The organization's installers then get a 404
//! naming it from `POST /secrets` until it is set again.

use super::{stopped, Gated};
use crate::http;
use crate::routes::account::{error, new_id};
use crate::store::node_env::{self, Change};
use crate::store::Db;
use gatehouse_core::account::{AccountError, ErrorCode};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::node_env::Service;
use serde_json::json;
use worker::Response;

/// The path's service, or the 404 that names the three (after the gate, so a
/// stranger learns nothing from it).
pub fn service_or_refusal(raw: &str) -> Result<Service, Response> {
    Service::parse(raw).map_err(|e| error(&AccountError::new(ErrorCode::NotFound, &e.0)))
}

pub async fn handle(
    db: &Db,
    Gated { org_id, caller, .. }: &Gated<'_>,
    service: &str,
) -> Result<Response, Problem> {
    let service = match service_or_refusal(service) {
        Ok(s) => s,
        Err(refusal) => return Ok(refusal),
    };
    let change = Change {
        org_id,
        service: service.as_str(),
        actor: caller.actor(),
        audit_id: &new_id()?,
        now_ms: crate::clock::now_ms(),
    };
    let deleted = match node_env::delete(db, &change).await? {
        Ok(deleted) => deleted,
        Err(why) => return Ok(stopped(why)),
    };
    if !deleted {
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
