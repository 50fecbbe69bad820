//! `GET /organization/{idOrg}/nodes` — the organization's bridge nodes, last seen
//! first, as the client's NodeInfoResponse: `{success, data: [NodeInfo], total}`.

use crate::routes::account::{authorize, READ_ORG};
use crate::routes::nodes::node_info;
use crate::store::nodes;
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::http::problem::Problem;
use serde_json::json;
use worker::{Env, Request, Response};

pub async fn handle(req: Request, env: &Env, db: &Db, org_id: &str) -> Result<Response, Problem> {
    let config = config::require(env)?;
    if let Err(refusal) = authorize(&req, db, &config, org_id, READ_ORG).await? {
        return Ok(refusal);
    }
    let data: Vec<_> = nodes::list_for_org(db, org_id)
        .await?
        .iter()
        .map(node_info)
        .collect();
    Ok(http::json(
        200,
        &json!({"success": true, "total": data.len(), "data": data}),
    ))
}
