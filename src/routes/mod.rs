//! Dispatch: one module per route, chosen by the route table in core.

mod account;
mod health;
mod index;
mod nodes;
mod openapi;
mod organization;
mod register_node_secret;
mod test_clock;
mod test_panic;

use crate::http::{self, problem_response};
use crate::observe::{self, Arrival};
use crate::store::db::{Fault, BOOKMARK_HEADER};
use crate::store::Db;
use gatehouse_core::crypto::work::counted;
use gatehouse_core::http::problem::{Family, Problem};
use gatehouse_core::http::routes::{match_route, Method, RouteId, RouteMatch};
use worker::{Context, Env, Request, Response};

pub async fn dispatch(req: Request, env: Env, ctx: Context, cors_origin: Option<&str>) -> Response {
    let arrival = Arrival::of(&req);
    // Test hooks are read straight from the var: routing must work even when the rest
    // of the config (e.g. a missing secret) does not, so /health can report it.
    let test_hooks = test_hooks(&env);
    // Simulated distance exists only with test hooks: production skips the lookup.
    let simulation = match test_hooks {
        true => crate::config::load(&env)
            .map(|c| c.d1_simulation)
            .unwrap_or_default(),
        false => Default::default(),
    };
    let caller_bookmark = req.headers().get(BOOKMARK_HEADER).ok().flatten();
    // Injected storage faults (docs/operations.md, "Overload") exist only with test hooks.
    let fault = match test_hooks {
        true => req.headers().get(Fault::HEADER).ok().flatten(),
        false => None,
    };
    let db = Db::new(
        &env,
        caller_bookmark,
        simulation,
        fault.as_deref().and_then(Fault::parse),
    );
    // Counted per request, not per isolate: one isolate interleaves many requests.
    let answered = counted(answer(req, &env, &ctx, &db, cors_origin, test_hooks));
    let ((response, route), crypto) = answered.await;

    // The newest D1 state this request saw: a caller that sends it back reads its own
    // writes, even from a read replica (store::db).
    if let Some(bookmark) = db.bookmark() {
        let _ = response.headers().set(BOOKMARK_HEADER, &bookmark);
    }
    let cost = db.cost();
    if test_hooks {
        // Test builds report the request's D1 round trips (to the primary and to
        // replicas), D1 rows and KV operations, KDF runs, RSA verifications and key
        // generations so e2e tests can hold each route to its budget
        // (docs/performance.md, "D1 round trips" and "What a request costs", SECURITY.md).
        let headers = response.headers();
        let all = (cost.d1_primary + cost.d1_replica).to_string();
        let _ = headers.set("x-gatehouse-d1-round-trips", &all);
        let _ = headers.set("x-gatehouse-d1-primary", &cost.d1_primary.to_string());
        let _ = headers.set("x-gatehouse-d1-replica", &cost.d1_replica.to_string());
        let _ = headers.set("x-gatehouse-d1-rows-read", &cost.d1_rows_read.to_string());
        let _ = headers.set(
            "x-gatehouse-d1-rows-written",
            &cost.d1_rows_written.to_string(),
        );
        let _ = headers.set("x-gatehouse-kv-reads", &cost.kv_reads.to_string());
        let _ = headers.set("x-gatehouse-kv-writes", &cost.kv_writes.to_string());
        let _ = headers.set("x-gatehouse-kdf-runs", &crypto.kdf_runs.to_string());
        let rsa = crypto.rsa_verifications.to_string();
        let _ = headers.set("x-gatehouse-rsa-verifications", &rsa);
        let generated = crypto.rsa_generations.to_string();
        let _ = headers.set("x-gatehouse-rsa-generations", &generated);
    }
    observe::finish(&env, &arrival, route, cost, response, test_hooks)
}

thread_local! {
    // Vars are fixed for the life of an isolate (as for crate::config's cache).
    static TEST_HOOKS: std::cell::OnceCell<bool> = const { std::cell::OnceCell::new() };
}

/// Whether `TEST_HOOKS=on`, read once per isolate.
fn test_hooks(env: &Env) -> bool {
    TEST_HOOKS.with(|hooks| {
        *hooks.get_or_init(|| {
            env.var("TEST_HOOKS")
                .map(|v| v.to_string() == "on")
                .unwrap_or(false)
        })
    })
}

/// Routes the request and answers it; also says which route answered, if any.
async fn answer(
    req: Request,
    env: &Env,
    ctx: &Context,
    db: &Db,
    cors_origin: Option<&str>,
    test_hooks: bool,
) -> (Response, Option<RouteId>) {
    let path = req.path();
    // The raw token: workers-rs maps methods it does not know (e.g. QUERY) to GET,
    // which would serve them as GET; unknown methods must answer 405.
    let method = Method::parse(&req.inner().method());
    if let Some(preflight) =
        cors_origin.and_then(|o| crate::cors::preflight(&req, o, &path, test_hooks))
    {
        return (preflight, None);
    }
    let matched = match_route(method, &path, test_hooks);
    // Oversized headers or a declared body over the limit are refused before anything
    // else, on any path, in the shape of the route family they were sent to.
    if let Some(problem) = http::refused_before_reading(&req) {
        let (family, id) = match &matched {
            RouteMatch::Found { family, id, .. } => (*family, Some(*id)),
            RouteMatch::MethodNotAllowed { family, .. } => (*family, None),
            RouteMatch::NotFound => (Family::Common, None),
        };
        return (problem_response(&problem, family), id);
    }
    let (id, family, params) = match matched {
        RouteMatch::Found { id, family, params } => (id, family, params),
        RouteMatch::MethodNotAllowed { family, allow } => {
            let response = problem_response(&Problem::MethodNotAllowed, family);
            let allow: Vec<&str> = allow.iter().map(|m| m.as_str()).collect();
            let _ = response.headers().set("allow", &allow.join(", "));
            return (response, None);
        }
        RouteMatch::NotFound => {
            return (problem_response(&Problem::NotFound, Family::Common), None)
        }
    };
    // The link pages' forms are sent by people in a browser: a refusal there (the
    // rate limit, the password lock, storage overloaded, an internal error) comes as a
    // page, not JSON; what no browser form sends (a body too large) stays JSON.
    let form_page =
        matches!(id, RouteId::VerifyEmail | RouteId::ResetPassword) && http::is_form(&req);
    let refusal = |problem: &Problem| {
        let for_people = matches!(
            problem,
            Problem::RateLimited { .. }
                | Problem::Unavailable { .. }
                | Problem::Internal
                | Problem::Misconfigured
        );
        if form_page && for_people {
            http::problem_page(problem)
        } else {
            problem_response(problem, family)
        }
    };
    if let Err(problem) = limit_per_ip(&req, env, id).await {
        return (refusal(&problem), Some(id));
    }
    let result = match id {
        RouteId::Index => Ok(index::handle()),
        RouteId::Health => Ok(health::handle(env, db).await),
        RouteId::OpenApi => Ok(openapi::handle()),
        RouteId::Register => nodes::register::handle(req, env, db, ctx).await,
        RouteId::Unregister => nodes::unregister::handle(req, env, db).await,
        RouteId::NodeDirectory => nodes::directory::handle(req, env, db).await,
        RouteId::RegisterNodeSecret => register_node_secret::handle(req, env, db).await,
        RouteId::UserRegister => account::user_register::handle(req, env, db, ctx).await,
        RouteId::VerifyEmailPage => account::verify_email::page(req, env).await,
        RouteId::VerifyEmail => account::verify_email::api(req, env, db, ctx).await,
        RouteId::ResendVerification => {
            account::resend_verification::by_email(req, env, db, ctx).await
        }
        RouteId::ResendVerificationById => {
            let link_id = param(&params, "verificationTokenId");
            account::resend_verification::by_link_id(req, env, db, ctx, link_id).await
        }
        RouteId::Login => account::login::handle(req, env, db).await,
        RouteId::Refresh => account::refresh::handle(req, env, db).await,
        RouteId::Logout => account::logout::handle(req, env, db).await,
        RouteId::Profile => account::profile::handle(req, env, db).await,
        RouteId::RequestPasswordReset => account::password_reset::request(req, env, db, ctx).await,
        RouteId::PasswordResetPage => account::password_reset::page(req).await,
        RouteId::ResetPassword => account::password_reset::reset(req, env, db).await,
        RouteId::PreVerifyEmail => account::pre_verify_email::handle(req, env, db).await,
        RouteId::ListTokens => account::tokens::list(req, env, db).await,
        RouteId::RevokeToken => {
            account::tokens::revoke(req, env, db, param(&params, "tokenId")).await
        }
        RouteId::NodeSecrets => nodes::secrets::handle(req, env, db).await,
        RouteId::Org(route) => organization::answer(route, req, env, db, ctx, &params).await,
        RouteId::TestPanic => test_panic::handle(req).await,
        RouteId::TestClock => test_clock::handle(req).await,
    };
    let response = result.unwrap_or_else(|problem| refusal(&problem));
    (response, Some(id))
}

pub(super) fn param<'p>(params: &[(&'static str, &'p str)], name: &str) -> &'p str {
    params
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, v)| v)
}

/// Per-client-IP limits of the routes people and nodes hammer (core::http::rate_limit).
async fn limit_per_ip(req: &Request, env: &Env, id: RouteId) -> Result<(), Problem> {
    let enabled = crate::config::load(env)
        .map(|c| c.rate_limits)
        .unwrap_or(true);
    if !enabled {
        return Ok(());
    }
    let client_ip = crate::rate_limit::client_ip(req);
    for (limiter, key) in gatehouse_core::http::rate_limit::per_ip(id, &client_ip) {
        crate::rate_limit::check(env, limiter, key).await?;
    }
    Ok(())
}
