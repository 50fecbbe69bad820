//! `GET /node?nodeServices=N` — the network's public node directory (the client's
//! `getNodeInfo`): live nodes (seen within `NODE_OFFLINE_AFTER_SECONDS`) of
//! organizations an operator marked as network providers (docs/nodes.md, "Node
//! directory"), offering any service in N (0: all).
//! No auth; a bearer, stale or not, is ignored. One D1 round trip.

use super::node_info;
use crate::store::nodes;
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::http::query::query_param;
use gatehouse_core::maintenance::liveness::directory_since_ms;
use gatehouse_core::nodes::signed::Invalid;
use gatehouse_core::nodes::{directory_filter, DIRECTORY_LIMIT};
use serde_json::json;
use worker::{Env, Request, Response};

pub async fn handle(req: Request, env: &Env, db: &Db) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let services = match directory_filter(query_param(&req.inner().url(), "nodeServices")) {
        Ok(s) => s,
        Err(Invalid(message)) => return Ok(super::bad_request(&message)),
    };
    let now_ms = crate::clock::now_ms();
    let found = nodes::directory(
        db,
        services,
        directory_since_ms(now_ms, config.node_offline_after_seconds),
        DIRECTORY_LIMIT,
    )
    .await?;
    let data: Vec<_> = found.iter().map(node_info).collect();
    Ok(http::json(
        200,
        &json!({"success": true, "total": data.len(), "data": data}),
    ))
}
