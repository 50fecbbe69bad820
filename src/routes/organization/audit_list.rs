//! `GET /organization/{idOrg}/audit?limit=&before=` — the organization's audit trail,
//! newest first, a page at a time: every key added or revoked, service environment set
//! or deleted and role set, with who did it (an operator's change names nobody) and
//! when. For its OWNERs and ADMINISTRATORs (verified; reading stays possible in a
//! banned organization): they make those changes, and the security notices send them
//! here to review what a stolen token did (core::account::notices). Paging:
//! core::org_changes::audit_page.

use super::Gated;
use crate::http;
use crate::routes::account::error;
use crate::store::org_changes;
use crate::store::Db;
use gatehouse_core::account::AccountError;
use gatehouse_core::http::problem::Problem;
use gatehouse_core::http::query::raw_query_param;
use gatehouse_core::org_changes::{audit_cursor, audit_page};
use gatehouse_core::time::format_rfc3339_ms;
use serde_json::json;
use worker::{Request, Response};

pub async fn handle(
    req: Request,
    db: &Db,
    Gated { org_id, .. }: &Gated<'_>,
) -> Result<Response, Problem> {
    let url = req.inner().url();
    let page = match audit_page(
        raw_query_param(&url, "limit"),
        raw_query_param(&url, "before"),
    ) {
        Ok(page) => page,
        Err(message) => return Ok(error(&AccountError::invalid_input(message))),
    };
    // One entry more than the page: whether another page follows.
    let mut entries = org_changes::audit_page(db, org_id, &page).await?;
    let more = entries.len() > page.limit as usize;
    entries.truncate(page.limit as usize);
    let next = more
        .then(|| entries.last().map(|e| audit_cursor(e.at_ms, &e.id)))
        .flatten();
    let data: Vec<_> = entries
        .iter()
        .map(|e| {
            json!({
                "at": format_rfc3339_ms(e.at_ms),
                "action": e.action,
                "subject": e.subject,
                "actor": e.actor.as_ref().map(|(id, email)| json!({"id": id, "email": email})),
            })
        })
        .collect();
    Ok(http::json(
        200,
        &json!({"success": true, "data": data, "next": next}),
    ))
}
