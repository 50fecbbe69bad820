//! `GET /organization/{idOrg}/key` — active public keys, newest first, each with the
//! nodes that last registered with it (`nodeKeys: [{keyId, nodeId}]`, nodeId as
//! `DELETE /organization/{idOrg}/node/{nodeId}` takes it): the client's
//! GetOrganizationKeysResponse.

use super::Gated;
use crate::http;
use crate::store::org_keys;
use crate::store::Db;
use gatehouse_core::http::problem::Problem;
use gatehouse_core::time::format_rfc3339_ms;
use serde_json::json;
use worker::Response;

pub async fn handle(db: &Db, Gated { org_id, .. }: &Gated<'_>) -> Result<Response, Problem> {
    let (keys, nodes) = org_keys::list(db, org_id).await?;
    let data: Vec<_> = keys
        .iter()
        .map(|k| {
            let node_keys: Vec<_> = nodes
                .iter()
                .filter(|n| n.key_id == k.id)
                .map(|n| json!({"keyId": k.id, "nodeId": n.ip}))
                .collect();
            json!({
                "id": k.id, "orgId": org_id, "publicKey": k.public_key_pem,
                "createdAt": format_rfc3339_ms(k.created_at_ms as i64),
                "nodeKeys": node_keys,
            })
        })
        .collect();
    let message = format!("{} active organization key(s)", data.len());
    Ok(http::json(
        200,
        &json!({"success": true, "data": data, "message": message}),
    ))
}
