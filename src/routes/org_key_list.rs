//! `GET /organization/{idOrg}/key` — active public keys, newest first, each with the
//! nodes associated with it (`nodeKeys`).

use super::account::{authorize, READ_ORG};
use super::org_nodes::node_json;
use crate::store::org_keys;
use crate::{config, http};
use gatehouse_core::problem::Problem;
use gatehouse_core::time::format_rfc3339_ms;
use serde_json::json;
use worker::{Env, Request, Response};

pub async fn handle(req: Request, env: &Env, org_id: &str) -> Result<Response, Problem> {
    let config = config::require(env)?;
    if let Err(refusal) = authorize(&req, env, &config, org_id, READ_ORG).await? {
        return Ok(refusal);
    }
    let (keys, nodes) = org_keys::list(env, org_id).await?;
    let data: Vec<_> = keys
        .iter()
        .map(|k| {
            json!({
                "id": k.id, "orgId": org_id, "publicKey": k.public_key_pem,
                "createdAt": format_rfc3339_ms(k.created_at_ms as i64),
                "nodeKeys": nodes.iter().filter(|n| n.key_id == k.id).map(node_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(http::json(200, &json!({"success": true, "data": data})))
}
