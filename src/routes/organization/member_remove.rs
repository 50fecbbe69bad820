//! `DELETE /organization/{idOrg}/member/{userId}` — an OWNER (verified email,
//! organization not banned) removes a member who is no OWNER: the member's sign-ins
//! end at once and, unless they belong to another organization, their account goes as
//! the operator's erasure takes it (why: core::account::members). Audited
//! (`MEMBER_REMOVED`) in the batch that makes it; never refused by the day's changes
//! (a withdrawal). An OWNER, the caller included, is refused (409 `MEMBER_IS_OWNER`):
//! made ADMINISTRATOR or MEMBER first. The caller, the other OWNERs and the member are
//! told (core::account::notices).

use super::Gated;
use crate::email::send_notice_later;
use crate::http;
use crate::routes::account::{error, new_id};
use crate::store::members::{self, Removal, Removed};
use crate::store::Db;
use gatehouse_core::account::notices::Notice;
use gatehouse_core::account::{AccountError, ErrorCode};
use gatehouse_core::http::problem::Problem;
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
        actor_user_id: &caller.user_id,
        audit_id: &new_id()?,
        now_ms,
    };
    let refusal = |code, message: &str| Ok(error(&AccountError::new(code, message)));
    match members::remove(db, &removal).await? {
        Removed::Done { told } => {
            let notice = Notice::MemberRemoved { org_id, user_id };
            let actor = (caller.user_id.as_str(), caller.email.as_str());
            send_notice_later(ctx, env, config, actor, &told, &notice, now_ms);
            Ok(http::json(
                200,
                &json!({"success": true, "message": "Member removed"}),
            ))
        }
        Removed::NotMember => refusal(
            ErrorCode::NotFound,
            "No member with this id in this organization",
        ),
        Removed::Owner => refusal(
            ErrorCode::MemberIsOwner,
            "An OWNER is not removed: make them ADMINISTRATOR or MEMBER first (PUT \
             /organization/{idOrg}/member/{userId})",
        ),
        // The gate saw an OWNER of a usable organization; a change landed in between.
        Removed::NotOwner => refusal(
            ErrorCode::Forbidden,
            "Your role in this organization does not allow this",
        ),
        Removed::Banned => refusal(
            ErrorCode::OrgBanned,
            "This organization is banned; it can no longer make changes",
        ),
    }
}
