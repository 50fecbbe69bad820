//! `GET /organization/{idOrg}/nodes` — the organization's bridge nodes, last seen first.

use super::account::{authorize, READ_ORG};
use crate::store::nodes::{self, NodeRow};
use crate::{config, http};
use gatehouse_core::problem::Problem;
use gatehouse_core::time::format_rfc3339_ms;
use serde_json::{json, Value};
use worker::{Env, Request, Response};

pub async fn handle(req: Request, env: &Env, org_id: &str) -> Result<Response, Problem> {
    let config = config::require(env)?;
    if let Err(refusal) = authorize(&req, env, &config, org_id, READ_ORG).await? {
        return Ok(refusal);
    }
    let nodes = nodes::list_for_org(env, org_id).await?;
    Ok(http::json(
        200,
        &json!({"success": true, "data": nodes.iter().map(node_json).collect::<Vec<_>>()}),
    ))
}

pub fn node_json(n: &NodeRow) -> Value {
    json!({
        "ip": n.ip, "provider": n.provider, "status": n.status, "region": n.region, "version": n.version,
        "keyId": n.key_id, "createdAt": format_rfc3339_ms(n.created_at_ms as i64),
        "lastSeen": format_rfc3339_ms(n.updated_at_ms as i64),
    })
}
