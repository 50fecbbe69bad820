//! The route table: the single list of what the worker serves.
//!
//! The worker dispatches on [`RouteId`]; `openapi.rs` tests that the OpenAPI document
//! describes exactly the documented rows of this table, so the two cannot drift.

use crate::http::problem::Family;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
}

impl Method {
    /// Parses an HTTP method token; `None` for anything we never route.
    pub fn parse(token: &str) -> Option<Method> {
        Some(match token {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "HEAD" => Method::Head,
            "OPTIONS" => Method::Options,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
        }
    }
}

/// Every endpoint the worker implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RouteId {
    Index,
    Health,
    OpenApi,
    Register,
    Unregister,
    NodeDirectory,
    RegisterNodeSecret,
    UserRegister,
    VerifyEmailPage,
    VerifyEmail,
    ResendVerification,
    ResendVerificationById,
    Login,
    Refresh,
    Logout,
    Profile,
    RequestPasswordReset,
    PasswordResetPage,
    ResetPassword,
    PreVerifyEmail,
    ListTokens,
    RevokeToken,
    NodeSecrets,
    /// `/organization/{idOrg}/…`: answered through the worker's one organization gate,
    /// which the type makes every one of them name its access rule for.
    Org(OrgRoute),
    /// Panics on purpose so the e2e suite can prove a panic becomes a 500 JSON answer.
    /// Served only when the `TEST_HOOKS` var is on; never documented.
    TestPanic,
    /// Moves the worker's clock (src/clock.rs) by an offset, for the growth test's
    /// simulated year. Served only when `TEST_HOOKS` is on; never documented.
    TestClock,
}

/// The routes under `/organization/{idOrg}/`: an organization's keys, nodes, service
/// environments, members and audit trail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrgRoute {
    CreateOrgKey,
    ListOrgKeys,
    RevokeOrgKey,
    RevokeAllOrgKeys,
    ListOrgNodes,
    DeleteOrgNode,
    ListNodeEnvs,
    SetNodeEnv,
    DeleteNodeEnv,
    ListOrgMembers,
    SetMemberRole,
    RemoveMember,
    ListOrgAudit,
}

impl RouteId {
    /// The route's name as logged and counted (an organization route by its own name,
    /// as before they were grouped).
    pub fn name(self) -> String {
        match self {
            RouteId::Org(route) => format!("{route:?}"),
            route => format!("{route:?}"),
        }
    }
}

pub struct Route {
    pub id: RouteId,
    pub method: Method,
    /// Path with `{name}` placeholders, spelled exactly as in the OpenAPI document.
    pub pattern: &'static str,
    /// The error-body shape of this route's family (see [`crate::http::problem`]).
    pub family: Family,
    /// Test-only routes are absent unless `TEST_HOOKS` is on, and never documented.
    pub test_hook: bool,
}

const fn route(id: RouteId, method: Method, pattern: &'static str, family: Family) -> Route {
    Route {
        id,
        method,
        pattern,
        family,
        test_hook: false,
    }
}

/// An organization route: the account family's error shape.
const fn org(id: OrgRoute, method: Method, pattern: &'static str) -> Route {
    route(RouteId::Org(id), method, pattern, Family::Account)
}

pub const ROUTES: &[Route] = &[
    route(RouteId::Index, Method::Get, "/", Family::Common),
    route(RouteId::Health, Method::Get, "/health", Family::Common),
    route(
        RouteId::OpenApi,
        Method::Get,
        "/openapi.json",
        Family::Common,
    ),
    route(RouteId::Register, Method::Post, "/register", Family::Bridge),
    route(
        RouteId::Unregister,
        Method::Post,
        "/unregister",
        Family::Bridge,
    ),
    route(RouteId::NodeDirectory, Method::Get, "/node", Family::Bridge),
    route(
        RouteId::RegisterNodeSecret,
        Method::Post,
        "/register_node_secret",
        Family::FastApi,
    ),
    route(
        RouteId::UserRegister,
        Method::Post,
        "/user/register",
        Family::Account,
    ),
    route(
        RouteId::VerifyEmailPage,
        Method::Get,
        "/user/verify-email",
        Family::Account,
    ),
    route(
        RouteId::VerifyEmail,
        Method::Post,
        "/user/verify-email",
        Family::Account,
    ),
    route(
        RouteId::ResendVerification,
        Method::Post,
        "/user/resend-verification",
        Family::Account,
    ),
    route(
        RouteId::ResendVerificationById,
        Method::Post,
        "/user/resend-verification/{verificationTokenId}",
        Family::Account,
    ),
    route(RouteId::Login, Method::Post, "/user/login", Family::Account),
    route(
        RouteId::Logout,
        Method::Post,
        "/user/logout",
        Family::Account,
    ),
    route(
        RouteId::Profile,
        Method::Get,
        "/user/profile",
        Family::Account,
    ),
    route(
        RouteId::PreVerifyEmail,
        Method::Post,
        "/user/pre-verify-email",
        Family::Account,
    ),
    route(RouteId::ListTokens, Method::Get, "/token", Family::Account),
    route(
        RouteId::RevokeToken,
        Method::Delete,
        "/token/{tokenId}",
        Family::Account,
    ),
    route(
        RouteId::RequestPasswordReset,
        Method::Post,
        "/user/request-reset-password",
        Family::Account,
    ),
    route(
        RouteId::PasswordResetPage,
        Method::Get,
        "/user/reset-password",
        Family::Account,
    ),
    route(
        RouteId::ResetPassword,
        Method::Post,
        "/user/reset-password",
        Family::Account,
    ),
    route(
        RouteId::Refresh,
        Method::Post,
        "/user/refresh",
        Family::Account,
    ),
    org(
        OrgRoute::CreateOrgKey,
        Method::Post,
        "/organization/{idOrg}/key",
    ),
    org(
        OrgRoute::ListOrgKeys,
        Method::Get,
        "/organization/{idOrg}/key",
    ),
    org(
        OrgRoute::RevokeAllOrgKeys,
        Method::Delete,
        "/organization/{idOrg}/key",
    ),
    org(
        OrgRoute::RevokeOrgKey,
        Method::Delete,
        "/organization/{idOrg}/key/{keyId}",
    ),
    org(
        OrgRoute::ListOrgNodes,
        Method::Get,
        "/organization/{idOrg}/nodes",
    ),
    org(
        OrgRoute::DeleteOrgNode,
        Method::Delete,
        "/organization/{idOrg}/node/{nodeId}",
    ),
    route(
        RouteId::NodeSecrets,
        Method::Post,
        "/secrets",
        Family::Common,
    ),
    org(
        OrgRoute::ListNodeEnvs,
        Method::Get,
        "/organization/{idOrg}/node-env",
    ),
    org(
        OrgRoute::SetNodeEnv,
        Method::Put,
        "/organization/{idOrg}/node-env/{service}",
    ),
    org(
        OrgRoute::DeleteNodeEnv,
        Method::Delete,
        "/organization/{idOrg}/node-env/{service}",
    ),
    org(
        OrgRoute::ListOrgMembers,
        Method::Get,
        "/organization/{idOrg}/members",
    ),
    org(
        OrgRoute::SetMemberRole,
        Method::Put,
        "/organization/{idOrg}/member/{userId}",
    ),
    org(
        OrgRoute::RemoveMember,
        Method::Delete,
        "/organization/{idOrg}/member/{userId}",
    ),
    org(
        OrgRoute::ListOrgAudit,
        Method::Get,
        "/organization/{idOrg}/audit",
    ),
    Route {
        id: RouteId::TestPanic,
        method: Method::Post,
        pattern: "/__test/panic",
        family: Family::Common,
        test_hook: true,
    },
    Route {
        id: RouteId::TestClock,
        method: Method::Post,
        pattern: "/__test/clock",
        family: Family::Common,
        test_hook: true,
    },
];

#[derive(Debug, PartialEq, Eq)]
pub enum RouteMatch<'p> {
    Found {
        id: RouteId,
        family: Family,
        /// Path parameters in pattern order, raw (not percent-decoded).
        params: Vec<(&'static str, &'p str)>,
    },
    /// The path exists but not for this method; `allow` is the `Allow` header value.
    MethodNotAllowed {
        family: Family,
        allow: Vec<Method>,
    },
    NotFound,
}

/// Finds the route for `method` and `path`. `method` is `None` for a method token we do
/// not know at all, which can only ever be a 405 (or 404 for an unknown path).
pub fn match_route(method: Option<Method>, path: &str, test_hooks: bool) -> RouteMatch<'_> {
    let mut allow = Vec::new();
    let mut family = None;
    for route in ROUTES.iter().filter(|r| test_hooks || !r.test_hook) {
        let Some(params) = match_pattern(route.pattern, path) else {
            continue;
        };
        if Some(route.method) == method {
            return RouteMatch::Found {
                id: route.id,
                family: route.family,
                params,
            };
        }
        family.get_or_insert(route.family);
        allow.push(route.method);
    }
    match family {
        Some(family) => RouteMatch::MethodNotAllowed { family, allow },
        None => RouteMatch::NotFound,
    }
}

fn match_pattern<'p>(pattern: &'static str, path: &'p str) -> Option<Vec<(&'static str, &'p str)>> {
    let mut params = Vec::new();
    let mut pattern_segments = pattern.split('/');
    let mut path_segments = path.split('/');
    loop {
        match (pattern_segments.next(), path_segments.next()) {
            (None, None) => return Some(params),
            (Some(expected), Some(actual)) => {
                match expected.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) if !actual.is_empty() => params.push((name, actual)),
                    Some(_) => return None,
                    None if expected == actual => {}
                    None => return None,
                }
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests;
