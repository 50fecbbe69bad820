//! `GET /organization/{idOrg}/members` — who belongs to the organization and with
//! which role, verified members first, each group the earliest to join first (at most
//! core::account::members::MEMBERS_LISTED; `total` counts them all). Any verified member may read it, as the
//! keys and nodes: a MEMBER needs to know whom to ask for a role. Names and roles as
//! `GET /user/profile` answers them (`name` the first name, roles as Flashback's
//! numbers).

use super::Gated;
use crate::http;
use crate::store::members;
use crate::store::Db;
use gatehouse_core::account::roles;
use gatehouse_core::http::problem::Problem;
use gatehouse_core::time::format_rfc3339_ms;
use serde_json::json;
use worker::Response;

pub async fn handle(db: &Db, Gated { org_id, .. }: &Gated<'_>) -> Result<Response, Problem> {
    let (found, total) = members::list(db, org_id).await?;
    let data: Vec<_> = found
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "email": m.email,
                "name": m.first_name,
                "lastName": m.last_name,
                "orgRole": roles::number(&m.role),
                "orgRoleDescription": roles::description(&m.role),
                "validated": m.validated,
                "joinedAt": format_rfc3339_ms(m.joined_at_ms),
            })
        })
        .collect();
    Ok(http::json(
        200,
        &json!({"success": true, "total": total, "data": data}),
    ))
}
