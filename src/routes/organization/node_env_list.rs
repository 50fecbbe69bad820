//! `GET /organization/{idOrg}/node-env` — OWNER or ADMINISTRATOR (verified email,
//! organization not banned) sees which services have an environment, how large and
//! since when; never the contents (only the organization's nodes can read them, from
//! `POST /secrets`, encrypted to their key).

use super::Gated;
use crate::http;
use crate::store::node_env;
use crate::store::Db;
use gatehouse_core::http::problem::Problem;
use gatehouse_core::node_env::Service;
use gatehouse_core::time::format_rfc3339_ms;
use serde_json::json;
use worker::Response;

pub async fn handle(db: &Db, Gated { org_id, .. }: &Gated<'_>) -> Result<Response, Problem> {
    let rows = node_env::list(db, org_id).await?;
    let data: Vec<_> = rows
        .iter()
        .map(|r| {
            json!({
                "service": r.service, "sizeBytes": r.size_bytes,
                "updatedAt": format_rfc3339_ms(r.updated_at_ms),
            })
        })
        .collect();
    let missing: Vec<&str> = Service::ALL
        .iter()
        .map(|s| s.as_str())
        .filter(|s| !rows.iter().any(|r| r.service == *s))
        .collect();
    let message = match missing.is_empty() {
        true => "Every service has an environment: nodes can install".to_owned(),
        false => format!(
            "Not set: {} (POST /secrets answers 404 until they are)",
            missing.join(", ")
        ),
    };
    Ok(http::json(
        200,
        &json!({"success": true, "data": data, "missing": missing, "message": message}),
    ))
}
