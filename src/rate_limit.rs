//! Rate limiting through Workers' rate-limiting bindings (policy: core::http::rate_limit).
//!
//! If a limiter itself fails, the request goes through and the failure is logged:
//! limits protect capacity and slow guessing; correctness never depends on them. A
//! limiter the deploy does not bind (a release's new one not yet filled in) is logged
//! once per isolate, not on every request it would have counted.

use std::cell::RefCell;

use gatehouse_core::config::Config;
use gatehouse_core::http::problem::Problem;
use gatehouse_core::http::rate_limit::PERIOD_SECONDS;
use worker::{Env, Request};

thread_local! {
    /// The limiters this isolate found unbound (a handful of names at most), each
    /// logged once.
    static UNBOUND: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}

/// The client's address as Cloudflare reports it.
pub fn client_ip(req: &Request) -> String {
    req.headers()
        .get("cf-connecting-ip")
        .ok()
        .flatten()
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Counts a signed-in client's call (core::http::rate_limit::signed_in) while
/// `RATE_LIMITS` is on: once its token verified, before anything is read.
pub async fn signed_in(req: &Request, env: &Env, config: &Config) -> Result<(), Problem> {
    if !config.rate_limits {
        return Ok(());
    }
    for (limiter, key) in gatehouse_core::http::rate_limit::signed_in(&client_ip(req)) {
        check(env, limiter, key).await?;
    }
    Ok(())
}

/// Counts one request under `key`; `Err(RateLimited)` when over the limit, logged with
/// the limiter's name and the key's budget (its part before the first `:`, a name in
/// code: `login`, `notice`, …): the request's own line says only `RATE_LIMITED`, and an
/// operator tells a /48's refusal from a /64's, or a paced notice from a refused
/// request, by this one. The rest of the key is not logged: it names the network.
pub async fn check(env: &Env, limiter: &'static str, key: String) -> Result<(), Problem> {
    let budget = key.split(':').next().unwrap_or_default().to_owned();
    let binding = match env.rate_limiter(limiter) {
        Ok(binding) => binding,
        Err(e) => {
            let first = UNBOUND.with(|unbound| {
                let mut unbound = unbound.borrow_mut();
                let first = !unbound.contains(&limiter);
                if first {
                    unbound.push(limiter);
                }
                first
            });
            if first {
                worker::console_error!(
                    "rate limiter {limiter} unavailable (not bound in this deploy: its limit \
                     is off; logged once per isolate): {e}"
                );
            }
            return Ok(());
        }
    };
    match binding.limit(key).await {
        Ok(o) if !o.success => {
            worker::console_log!(
                r#"{{"msg":"rate_limited","limiter":"{limiter}","budget":"{budget}"}}"#
            );
            Err(Problem::RateLimited {
                retry_after_seconds: PERIOD_SECONDS,
            })
        }
        Ok(_) => Ok(()),
        Err(e) => {
            worker::console_error!("rate limiter {limiter} unavailable, request allowed: {e}");
            Ok(())
        }
    }
}
