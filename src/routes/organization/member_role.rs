//! `PUT /organization/{idOrg}/member/{userId}` — an OWNER (verified email, organization
//! not banned) sets a member's role: `{"orgRole": 0 | 254 | 255}` (USER, ADMINISTRATORS,
//! OWNER). From the member's next request on, every gate reads the new role. Audited
//! (`ROLE_OWNER`, `ROLE_ADMINISTRATOR`, `ROLE_MEMBER`) in the batch that makes it;
//! refused (409 `LAST_OWNER`) when it would leave no OWNER who can act, and (429) for a
//! grant once the organization's day of changes is spent; the caller, the other
//! OWNERs and the member are told (core::account::notices). Rules and why:
//! core::account::members.

use super::{changes_spent, stopped, Gated};
use crate::email::send_notice_later;
use crate::http;
use crate::routes::account::{error, new_id};
use crate::store::members::{self, RoleChange, SetRole};
use crate::store::Db;
use gatehouse_core::account::notices::Notice;
use gatehouse_core::account::{members::parse_role_change, roles, AccountError, ErrorCode};
use gatehouse_core::http::problem::Problem;
use serde_json::json;
use worker::{Context, Env, Request, Response};

pub async fn handle(
    mut req: Request,
    env: &Env,
    db: &Db,
    ctx: &Context,
    Gated {
        config,
        org_id,
        caller,
    }: &Gated<'_>,
    user_id: &str,
) -> Result<Response, Problem> {
    let body = http::read_body(&mut req).await?;
    let role = match parse_role_change(&body) {
        Ok(role) => role,
        Err(e) => return Ok(error(&e)),
    };
    let now_ms = crate::clock::now_ms();
    let change = RoleChange {
        org_id,
        user_id,
        role,
        actor: caller.actor(),
        audit_id: &new_id()?,
        now_ms,
    };
    let refusal = |code, message: &str| Ok(error(&AccountError::new(code, message)));
    let from = match members::set_role(db, &change).await? {
        SetRole::Changed { from, told } => {
            let notice = Notice::RoleSet {
                org_id,
                user_id,
                role,
            };
            let actor = (caller.user_id.as_str(), caller.email.as_str());
            send_notice_later(ctx, env, config, actor, &told, &notice, now_ms);
            from
        }
        SetRole::Unchanged => role.to_owned(),
        SetRole::NotMember => {
            return refusal(
                ErrorCode::NotFound,
                "No member with this id in this organization",
            )
        }
        SetRole::LastOwner => {
            return refusal(
                ErrorCode::LastOwner,
                "This member is the organization's last OWNER with a verified address: make \
                 another member OWNER first",
            )
        }
        SetRole::Stopped(why) => return Ok(stopped(why)),
        SetRole::ChangesSpent {
            retry_after_seconds,
        } => return Ok(changes_spent(retry_after_seconds)),
    };
    let message = if from == role {
        format!("The member is {} already", roles::description(role))
    } else {
        format!("Role set to {}", roles::description(role))
    };
    Ok(http::json(
        200,
        &json!({
            "success": true,
            "message": message,
            "data": {
                "id": user_id,
                "orgRole": roles::number(role),
                "orgRoleDescription": roles::description(role),
                "previousOrgRole": roles::number(&from),
            },
        }),
    ))
}
