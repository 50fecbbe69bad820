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
use worker::{Env, Request, Response};

pub async fn handle(req: Request, env: &Env, db: &Db) -> Result<Response, Problem> {
    let config = crate::config::require(env)?;
    let raw = query_param(&req.inner().url(), "nodeServices");
    let services = match directory_filter(raw.as_deref()) {
        Ok(s) => s,
        Err(Invalid(message)) => return Ok(super::bad_request(&message)),
    };
    let now_ms = crate::clock::now_ms();
    // The stored last-seen lags a node's real last heartbeat by up to the resolution
    // (writes only on change, docs/nodes.md): widen the window by it, so a node that
    // re-registered within the window is listed whatever it last wrote.
    let resolution_ms = i64::from(config.node_seen_resolution_seconds) * 1000;
    let found = nodes::directory(
        db,
        services,
        now_ms - DIRECTORY_FRESHNESS_MS - resolution_ms,
        DIRECTORY_LIMIT,
    )
    .await?;
    let data: Vec<_> = found.iter().map(node_info).collect();
    Ok(http::json(
        200,
        &json!({"success": true, "total": data.len(), "data": data}),
    ))
}
