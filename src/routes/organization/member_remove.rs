//! `DELETE /organization/{idOrg}/member/{userId}` — an OWNER (verified email,
//! organization not banned) removes a member who is no OWNER: the member's sign-ins
//! end at once and, unless they belong to another organization, their account goes as
//! the operator's erasure takes it (why: core::account::members). Audited
//! (`MEMBER_REMOVED`) in the batch that makes it, which counts in the organization's
//! day of changes (429 past it). An OWNER, the caller included, or a member who was
//! one in the last day is refused (409 `MEMBER_IS_OWNER`). The caller and the other
//! OWNERs are told, naming the member, and the member in words of their own
//! (core::account::notices).

use super::{changes_spent, stopped, Gated};
use crate::email::{send_member_notice_later, send_notice_later};
use crate::http;
use crate::routes::account::{error, new_id};
use crate::store::members::{self, Removal, Removed};
use crate::store::Db;
use gatehouse_core::account::members::OWNER_REMOVAL_HOLD_MS;
use gatehouse_core::account::notices::Notice;
use gatehouse_core::account::{AccountError, ErrorCode};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::time::format_rfc3339_ms;
use serde_json::json;
use worker::{Context, Env, Response};

pub async fn handle(
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
    let now_ms = crate::clock::now_ms();
    let removal = Removal {
        org_id,
        user_id,
        actor: caller.actor(),
        audit_id: &new_id()?,
        now_ms,
    };
    let refusal = |code, message: &str| Ok(error(&AccountError::new(code, message)));
    match members::remove(db, &removal).await? {
        Removed::Done {
            owners,
            member,
            verified,
        } => {
            let notice = Notice::MemberRemoved {
                org_id,
                user_id,
                email: &member.email,
            };
            let actor = (caller.user_id.as_str(), caller.email.as_str());
            send_notice_later(ctx, env, config, actor, &owners, &notice, now_ms);
            if verified {
                let yours = Notice::YouWereRemoved { org_id };
                send_member_notice_later(
                    ctx,
                    env,
                    config,
                    &member.email,
                    &caller.email,
                    &yours,
                    now_ms,
                );
            }
            Ok(http::json(
                200,
                &json!({"success": true, "message": "Member removed"}),
            ))
        }
        Removed::NotMember => refusal(
            ErrorCode::NotFound,
            "No member with this id in this organization",
        ),
        Removed::Owner { until_ms: None } => refusal(
            ErrorCode::MemberIsOwner,
            "An OWNER is not removed: another OWNER makes them ADMINISTRATOR or MEMBER first \
             (PUT /organization/{idOrg}/member/{userId}), and removes them a day later",
        ),
        Removed::Owner {
            until_ms: Some(until_ms),
        } => refusal(
            ErrorCode::MemberIsOwner,
            &format!(
                "This member was an OWNER until {}: removable from {} (a day after, so that \
                 every OWNER can act on the change first)",
                format_rfc3339_ms(until_ms),
                format_rfc3339_ms(until_ms + OWNER_REMOVAL_HOLD_MS)
            ),
        ),
        Removed::Stopped(why) => Ok(stopped(why)),
        Removed::ChangesSpent {
            retry_after_seconds,
        } => Ok(changes_spent(retry_after_seconds)),
    }
}
