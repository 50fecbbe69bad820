//! `DELETE /organization/{idOrg}/node/{nodeId}` — an OWNER or ADMINISTRATOR removes a
//! node of the organization (the client's `deletePrivateNode`). `nodeId` is the node's
//! address as listed (any spelling of it works). A tombstone at the node's last signed
//! timestamp, or now if later, stays behind, so only a registration signed after the
//! removal creates the node anew, never a captured earlier one (also not an unchanged
//! heartbeat that was answered unwritten, newer than the row).

use super::{stopped, Gated};
use crate::http;
use crate::routes::account::error;
use crate::store::nodes;
use crate::store::Db;
use gatehouse_core::account::{AccountError, ErrorCode};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::nodes::signed::node_identity;
use serde_json::json;
use worker::Response;

pub async fn handle(
    db: &Db,
    Gated {
        config,
        org_id,
        caller,
    }: &Gated<'_>,
    node_id: &str,
) -> Result<Response, Problem> {
    let deleted = match node_identity(&percent_decoded(node_id)) {
        Ok(ip) => {
            let tombstones = crate::routes::nodes::tombstones(config);
            match nodes::delete(db, org_id, &ip, caller.actor(), &tombstones).await? {
                Ok(deleted) => deleted,
                Err(why) => return Ok(stopped(why)),
            }
        }
        Err(_) => false,
    };
    if !deleted {
        return Ok(error(&AccountError::new(
            ErrorCode::NotFound,
            "No node with this id in this organization",
        )));
    }
    Ok(http::json(
        200,
        &json!({"success": true, "message": "Node deleted successfully"}),
    ))
}

/// Path segments arrive percent-encoded (`2001%3Adb8%3A%3A1` from clients that encode
/// colons). One that does not decode is empty: no node has that id (404).
fn percent_decoded(segment: &str) -> String {
    gatehouse_core::http::query::form_param(&format!("v={segment}"), "v")
        .ok()
        .flatten()
        .unwrap_or_default()
}
