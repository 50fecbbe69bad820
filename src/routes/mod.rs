//! Dispatch: one module per route, chosen by the route table in core.

mod health;
mod openapi;
mod register;
mod register_node_secret;
mod test_panic;

use crate::http::problem_response;
use gatehouse_core::problem::{Family, Problem};
use gatehouse_core::routes::{match_route, Method, RouteId, RouteMatch};
use worker::{Context, Env, Request, Response};

pub async fn dispatch(req: Request, env: Env, ctx: Context) -> Response {
    let _ = ctx; // used by routes that defer work with wait_until
    let path = req.path();
    let method = Method::parse(req.method().as_ref());
    // Test hooks are read straight from the var: routing must work even when the rest
    // of the config (e.g. a missing secret) does not, so /health can report it.
    let test_hooks = env
        .var("TEST_HOOKS")
        .map(|v| v.to_string() == "on")
        .unwrap_or(false);
    let (id, family) = match match_route(method, &path, test_hooks) {
        RouteMatch::Found { id, family, .. } => (id, family),
        RouteMatch::MethodNotAllowed { family, allow } => {
            let response = problem_response(&Problem::MethodNotAllowed, family);
            let allow: Vec<&str> = allow.iter().map(|m| m.as_str()).collect();
            let _ = response.headers().set("allow", &allow.join(", "));
            return response;
        }
        RouteMatch::NotFound => return problem_response(&Problem::NotFound, Family::Common),
    };
    let result = match id {
        RouteId::Health => Ok(health::handle(&env).await),
        RouteId::OpenApi => Ok(openapi::handle()),
        RouteId::Register => register::handle(req, &env).await,
        RouteId::RegisterNodeSecret => register_node_secret::handle(req, &env).await,
        RouteId::TestPanic => test_panic::handle(req).await,
    };
    result.unwrap_or_else(|problem| problem_response(&problem, family))
}
