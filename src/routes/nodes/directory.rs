//! `GET /node?nodeServices=N` — the network's public node directory (the client's
//! `getNodeInfo`): fresh nodes of organizations an operator marked as network
//! providers (docs/nodes.md, "Node directory"), offering any service in N (0: all).
//! No auth; a bearer, stale or not, is ignored. One D1 round trip.

use super::node_info;
use crate::http;
use crate::store::nodes;
use crate::store::Db;
use gatehouse_core::http::problem::Problem;
use gatehouse_core::http::query::query_param;
use gatehouse_core::nodes::signed::Invalid;
use gatehouse_core::nodes::{directory_filter, DIRECTORY_FRESHNESS_MS, DIRECTORY_LIMIT};
use serde_json::json;
use worker::{Request, Response};

pub async fn handle(req: Request, db: &Db) -> Result<Response, Problem> {
    let raw = query_param(&req.inner().url(), "nodeServices");
    let services = match directory_filter(raw.as_deref()) {
        Ok(s) => s,
        Err(Invalid(message)) => return Ok(super::bad_request(&message)),
    };
    let now_ms = crate::clock::now_ms();
    let found = nodes::directory(
        db,
        services,
        now_ms - DIRECTORY_FRESHNESS_MS,
        DIRECTORY_LIMIT,
    )
    .await?;
    let data: Vec<_> = found.iter().map(node_info).collect();
    Ok(http::json(
        200,
        &json!({"success": true, "total": data.len(), "data": data}),
    ))
}
