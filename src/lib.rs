//! gatehouse worker: the thin shell around `gatehouse-core`.
//!
//! Each request: match the route (core), read the body under the size limit, call the
//! route, which asks core for every decision and runs the D1/KV/email effects through
//! `store`, then render the response. Errors become each route family's documented
//! shape in one place (`http::problem_response`).
//!
//! Panics: workers-rs installs a hook that logs "Rust panic: <message>" and flags the
//! instance for re-initialisation; src/entry.mjs answers the request with 500 JSON.

mod auth;
mod clock;
mod config;
mod cors;
mod email;
mod http;
mod observe;
mod rate_limit;
mod routes;
mod scheduled;
mod store;
mod webcrypto;

use worker::{event, Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let origin = cors::origin(&req, &env);
    let response = routes::dispatch(req, env, ctx, origin.as_deref()).await;
    if let Some(origin) = &origin {
        cors::allow(&response, origin);
    }
    Ok(response)
}

/// The Cron Trigger: scheduled maintenance (src/scheduled.rs).
#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    scheduled::run(event, env).await;
}
