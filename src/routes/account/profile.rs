//! `GET /user/profile` (bearer) — the caller as the Flashback client's
//! UserProfileResponse declares them: roles as Flashback's numbers (core::account::roles).

use super::auth_refused;
use crate::auth;
use crate::store::accounts::{self, Signed};
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::account::roles;
use gatehouse_core::http::problem::Problem;
use serde_json::json;
use worker::{Env, Request, Response};

pub async fn handle(req: Request, env: &Env, db: &Db) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let now_ms = crate::clock::now_ms();
    let claims = match auth::authenticate(&req, env, &config, now_ms).await {
        Ok(c) => c,
        Err(e) => return auth_refused(e),
    };
    let Signed::In(p) = accounts::profile(db, &claims).await? else {
        // The sign-in ended (or the user no longer exists).
        return Ok(super::error(&auth::session_ended()));
    };
    let role = p.role.as_deref();
    Ok(http::json(
        200,
        &json!({"success": true, "data": {
            "id": p.id, "name": p.first_name, "lastName": p.last_name, "email": p.email,
            "orgId": p.org_id,
            "orgRole": role.map(roles::number),
            "orgRoleDescription": role.map_or("", roles::description),
            "orgRoles": role.map(roles::number).into_iter().collect::<Vec<_>>(),
            "validated": p.email_verified_at_ms.is_some(),
            "mfaRequired": false,
            "isBusiness": p.is_business != 0,
        }}),
    ))
}
