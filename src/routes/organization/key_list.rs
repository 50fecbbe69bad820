//! `GET /organization/{idOrg}/key` — active public keys, newest first, each with the
//! nodes that last registered with it (`nodeKeys: [{keyId, nodeId}]`, nodeId as
//! `DELETE /organization/{idOrg}/node/{nodeId}` takes it): the client's
//! GetOrganizationKeysResponse.

use crate::routes::account::{authorize, READ_ORG};
use crate::store::org_keys;
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::time::format_rfc3339_ms;
use serde_json::json;
use worker::{Env, Request, Response};

pub async fn handle(req: Request, env: &Env, db: &Db, org_id: &str) -> Result<Response, Problem> {
    let config = config::require(env)?;
    if let Err(refusal) = authorize(&req, db, &config, org_id, READ_ORG).await? {
        return Ok(refusal);
    }
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
