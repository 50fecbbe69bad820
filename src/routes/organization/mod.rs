//! `/organization/{idOrg}/…`: an organization's keys, nodes, service environments and
//! members. Every one of these routes (core's `OrgRoute`, so the compiler holds the
//! list) is answered through [`answer`], which runs the one authorization gate with
//! the route's entry in [`access`] before the route's own code: a new route without
//! an entry does not compile, and none reads or writes anything of the organization
//! before the caller passed. Each change's batch then reads the caller
//! again — role, sign-in, ban (store::org_changes::actor_may_change, or the role
//! change's own rules).

pub mod audit_list;
pub mod key_create;
pub mod key_list;
pub mod key_revoke;
pub mod keys_revoke_all;
pub mod member_remove;
pub mod member_role;
pub mod members_list;
pub mod node_delete;
pub mod node_env_delete;
pub mod node_env_list;
pub mod node_env_put;
pub mod nodes_list;

use super::account::{auth_refused, error};
use super::param;
use crate::auth::{self, Access};
use crate::store::org_changes::{Actor, Stopped};
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::account::{AccountError, ErrorCode};
use gatehouse_core::config::Config;
use gatehouse_core::http::problem::{Family, Problem};
use gatehouse_core::http::routes::OrgRoute;
use std::rc::Rc;
use worker::{Context, Env, Request, Response};

/// Reading an organization's keys, nodes and members: any verified member.
const READ_ORG: Access = Access {
    roles: &["OWNER", "ADMINISTRATOR", "MEMBER"],
    writes: false,
};
/// Adding and revoking keys, deleting nodes: OWNER or ADMINISTRATOR, never in a banned
/// organization. Service environments are credentials: only they see even which are
/// set, and with the same rule.
const MANAGE: Access = Access {
    roles: &["OWNER", "ADMINISTRATOR"],
    writes: true,
};
/// Reading the audit trail: OWNER or ADMINISTRATOR (they make its changes), also in a
/// banned organization.
const READ_AUDIT: Access = Access {
    roles: &["OWNER", "ADMINISTRATOR"],
    writes: false,
};
/// Setting roles and removing members: OWNER only, never in a banned organization
/// (core::account::members says why).
const MANAGE_MEMBERS: Access = Access {
    roles: &["OWNER"],
    writes: true,
};

/// Who may call each organization route: the one table of it (the router sends these
/// routes, and only these, to [`answer`]).
fn access(route: OrgRoute) -> Access {
    use OrgRoute::*;
    match route {
        ListOrgKeys | ListOrgNodes | ListOrgMembers => READ_ORG,
        CreateOrgKey | RevokeOrgKey | RevokeAllOrgKeys | DeleteOrgNode | ListNodeEnvs
        | SetNodeEnv | DeleteNodeEnv => MANAGE,
        ListOrgAudit => READ_AUDIT,
        SetMemberRole | RemoveMember => MANAGE_MEMBERS,
    }
}

/// What an organization route's own code starts from: the gate passed.
pub struct Gated<'a> {
    pub config: Rc<Config>,
    /// The organization of the path (`idOrg`), the caller's.
    pub org_id: &'a str,
    pub caller: Caller,
}

/// Who passed the gate.
pub struct Caller {
    pub user_id: String,
    /// The sign-in their access token names (its `sid`): a change's batch checks it is
    /// still live.
    pub sign_in: String,
    /// Their address as stored now, from the same read: security notices go to it.
    pub email: String,
}

impl Caller {
    /// The caller as a change's batch reads them again.
    pub fn actor(&self) -> Actor<'_> {
        Actor {
            user_id: &self.user_id,
            sign_in: &self.sign_in,
        }
    }
}

/// Answers an organization route: the gate (the token, the caller's verified
/// membership with a role of the route's [`access`], the ban for writes), then the
/// route. A refusal is the answer.
pub async fn answer(
    route: OrgRoute,
    req: Request,
    env: &Env,
    db: &Db,
    ctx: &Context,
    params: &[(&'static str, &str)],
) -> Result<Response, Problem> {
    let access = access(route);
    let config = config::require(env)?;
    let org_id = param(params, "idOrg");
    let claims = match auth::authenticate(&req, env, &config, crate::clock::now_ms()).await {
        Ok(c) => c,
        Err(e) => return auth_refused(e),
    };
    let member = match auth::require_member(db, &claims, org_id, access).await {
        Ok(member) => member,
        Err(e) => return auth_refused(e),
    };
    let gate = Gated {
        config,
        org_id,
        caller: Caller {
            user_id: claims.sub,
            sign_in: claims.sid,
            email: member.email,
        },
    };
    match route {
        OrgRoute::CreateOrgKey => key_create::handle(req, env, db, ctx, &gate).await,
        OrgRoute::ListOrgKeys => key_list::handle(db, &gate).await,
        OrgRoute::RevokeOrgKey => key_revoke::handle(db, &gate, param(params, "keyId")).await,
        OrgRoute::RevokeAllOrgKeys => keys_revoke_all::handle(db, &gate).await,
        OrgRoute::ListOrgNodes => nodes_list::handle(req, db, &gate).await,
        OrgRoute::DeleteOrgNode => node_delete::handle(db, &gate, param(params, "nodeId")).await,
        OrgRoute::ListNodeEnvs => node_env_list::handle(db, &gate).await,
        OrgRoute::SetNodeEnv => {
            node_env_put::handle(req, env, db, ctx, &gate, param(params, "service")).await
        }
        OrgRoute::DeleteNodeEnv => {
            node_env_delete::handle(db, &gate, param(params, "service")).await
        }
        OrgRoute::ListOrgMembers => members_list::handle(db, &gate).await,
        OrgRoute::ListOrgAudit => audit_list::handle(req, db, &gate).await,
        OrgRoute::SetMemberRole => {
            member_role::handle(req, env, db, ctx, &gate, param(params, "userId")).await
        }
        OrgRoute::RemoveMember => {
            member_remove::handle(env, db, ctx, &gate, param(params, "userId")).await
        }
    }
}

/// The answer to a change its batch stopped: the gate saw the caller allowed and the
/// organization usable, and a sign-out, demotion, removal or ban landed in between
/// (store::org_changes::actor_may_change): what the gate would answer now.
fn stopped(why: Stopped) -> Response {
    error(&match why {
        Stopped::SignedOut => auth::session_ended(),
        Stopped::NotAllowed => AccountError::new(
            ErrorCode::Forbidden,
            "Your role in this organization does not allow this",
        ),
        Stopped::Banned => AccountError::new(
            ErrorCode::OrgBanned,
            "This organization is banned; it can no longer make changes",
        ),
    })
}

/// 429 with `Retry-After`: the organization has made its day's key, environment and
/// role changes (core::org_changes); the routes that grant or add answer it.
fn changes_spent(retry_after_seconds: u32) -> Response {
    http::problem_response(
        &Problem::RateLimited {
            retry_after_seconds,
        },
        Family::Account,
    )
}
