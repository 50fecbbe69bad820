//! `GET /organization/{idOrg}/nodes?limit=&after=` — the organization's bridge nodes as
//! the client's NodeInfoResponse: `{success, data: [NodeInfo], total}`, with `next`
//! when more follow. A page at a time by address (core::nodes::listing: a page reads
//! its own rows, however many nodes there are), last seen first within it; `total` is
//! how many nodes the organization has. The Flashback client asks without parameters
//! and gets the first page, every node of an organization with up to 1,000. A node not
//! seen for `NODE_OFFLINE_AFTER_SECONDS` is listed with status `OFFLINE`
//! (core::maintenance::liveness); a live one with what its installer last sent.

use super::Gated;
use crate::http;
use crate::routes::account::error;
use crate::routes::nodes::node_info;
use crate::store::nodes;
use crate::store::Db;
use gatehouse_core::account::AccountError;
use gatehouse_core::http::problem::Problem;
use gatehouse_core::http::query::{query_param, raw_query_param};
use gatehouse_core::maintenance::liveness::listed_status;
use gatehouse_core::nodes::listing::node_page;
use serde_json::json;
use worker::{Request, Response};

pub async fn handle(
    req: Request,
    db: &Db,
    Gated { config, org_id, .. }: &Gated<'_>,
) -> Result<Response, Problem> {
    let url = req.inner().url();
    let page = match node_page(raw_query_param(&url, "limit"), query_param(&url, "after")) {
        Ok(page) => page,
        Err(message) => return Ok(error(&AccountError::invalid_input(message))),
    };
    // Last seen first, with one node more than the page when another follows: the one
    // with the greatest address, which the next page starts with.
    let (mut found, total) = nodes::list_for_org(db, org_id, &page).await?;
    let more = found.len() > page.limit as usize;
    let by_address =
        |found: &[nodes::NodeRow]| (0..found.len()).max_by(|&a, &b| found[a].ip.cmp(&found[b].ip));
    if let Some(first_of_next) = by_address(&found).filter(|_| more) {
        found.remove(first_of_next);
    }
    let next = by_address(&found)
        .filter(|_| more)
        .map(|last| found[last].ip.clone());
    let now_ms = crate::clock::now_ms();
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
        &json!({"success": true, "total": total, "data": data, "next": next}),
    ))
}
