//! Applies the CORS policy decided in `gatehouse_core::http::cors` to requests/responses.

use gatehouse_core::http::cors::{
    allowed_origin, ALLOWED_HEADERS, EXPOSED_HEADERS, PREFLIGHT_MAX_AGE,
};
use gatehouse_core::http::routes::{match_route, RouteMatch};
use worker::{Env, Headers, Request, Response, ResponseBuilder};

/// The allowed origin of this request, if it is a permitted cross-origin call.
pub fn origin(req: &Request, env: &Env) -> Option<String> {
    let config = crate::config::load(env).ok()?;
    let origin = req.headers().get("origin").ok().flatten();
    allowed_origin(origin.as_deref(), &config.cors_allowed_origins).map(str::to_owned)
}

/// Answers a preflight (`OPTIONS` with `Access-Control-Request-Method`) from an
/// allowed origin for a path we serve: 204 with the methods that path accepts.
pub fn preflight(req: &Request, origin: &str, path: &str, test_hooks: bool) -> Option<Response> {
    let is_preflight = req.method().as_ref() == "OPTIONS"
        && req
            .headers()
            .get("access-control-request-method")
            .ok()
            .flatten()
            .is_some();
    if !is_preflight {
        return None;
    }
    let methods: Vec<&str> = match match_route(None, path, test_hooks) {
        RouteMatch::MethodNotAllowed { allow, .. } => allow.iter().map(|m| m.as_str()).collect(),
        _ => return None,
    };
    let headers = Headers::new();
    let _ = headers.set("access-control-allow-origin", origin);
    let _ = headers.set("access-control-allow-methods", &methods.join(", "));
    let _ = headers.set("access-control-allow-headers", ALLOWED_HEADERS);
    let _ = headers.set("access-control-max-age", PREFLIGHT_MAX_AGE);
    let _ = headers.set("vary", "Origin");
    Some(
        ResponseBuilder::new()
            .with_status(204)
            .with_headers(headers)
            .empty(),
    )
}

/// Marks an answer readable by the allowed origin.
pub fn allow(response: &Response, origin: &str) {
    let headers = response.headers();
    let _ = headers.set("access-control-allow-origin", origin);
    let _ = headers.set("access-control-expose-headers", EXPOSED_HEADERS);
    let _ = headers.set("vary", "Origin");
}
