//! `GET /organization/{idOrg}/nodes` — the organization's bridge nodes, last seen
//! first, as the client's NodeInfoResponse: `{success, data: [NodeInfo], total}`. A
//! node not seen for `NODE_OFFLINE_AFTER_SECONDS` is listed with status `OFFLINE`
//! (core::maintenance::liveness); a live one with what its installer last sent.

use super::Gated;
use crate::http;
use crate::routes::nodes::node_info;
use crate::store::nodes;
use crate::store::Db;
use gatehouse_core::http::problem::Problem;
use gatehouse_core::maintenance::liveness::listed_status;
use serde_json::json;
use worker::Response;

pub async fn handle(
    db: &Db,
    Gated { config, org_id, .. }: &Gated<'_>,
) -> Result<Response, Problem> {
    let now_ms = crate::clock::now_ms();
    let mut found = nodes::list_for_org(db, org_id).await?;
    for node in &mut found {
        let status = listed_status(
            &node.status,
            node.updated_at_ms as i64,
            now_ms,
            config.node_offline_after_seconds,
        );
        if status != node.status {
            node.status = status.to_owned();
        }
    }
    let data: Vec<_> = found.iter().map(node_info).collect();
    Ok(http::json(
        200,
        &json!({"success": true, "total": data.len(), "data": data}),
    ))
}
