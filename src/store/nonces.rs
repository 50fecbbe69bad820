//! Replay nonces in KV (`NONCES`). KV is eventually consistent across locations, so
//! this is the fast first layer; D1's strictly-increasing timestamp is the guarantee.

use super::{overloaded, Db, NONCES_BINDING};
use gatehouse_core::http::overload;
use gatehouse_core::http::problem::Problem;
use worker::kv::KvStore;
use worker::{Context, Env};

/// Whether the nonce was seen. A KV failure is an error: registration fails closed.
pub async fn seen(env: &Env, db: &Db, key: &str) -> Result<bool, Problem> {
    db.kv_read()
        .await
        .map_err(|e| unavailable("nonces.seen", e))?;
    let value = namespace(env)?
        .get(key)
        .text()
        .await
        .map_err(|e| unavailable("nonces.seen", e))?;
    Ok(value.is_some())
}

pub async fn remember(env: &Env, db: &Db, key: &str, ttl_seconds: u64) -> Result<(), Problem> {
    db.kv_write()
        .map_err(|e| unavailable("nonces.remember", e))?;
    put(&namespace(env)?, key, ttl_seconds)
        .await
        .map_err(|e| unavailable("nonces.remember", e))
}

/// [`remember`] after the answer (`wait_until`): the node does not wait for KV's
/// write. The request stands whatever happens here (stored and replay-proof in D1),
/// so a failure is only logged.
pub fn remember_after_answer(ctx: &Context, env: &Env, db: &Db, key: &str, ttl_seconds: u64) {
    let scheduled = db
        .kv_write()
        .map_err(|e| e.to_string())
        .and_then(|()| env.kv(NONCES_BINDING).map_err(|e| e.to_string()));
    let namespace = match scheduled {
        Ok(namespace) => namespace,
        Err(e) => return not_remembered(&e),
    };
    let key = key.to_owned();
    ctx.wait_until(async move {
        if let Err(e) = put(&namespace, &key, ttl_seconds).await {
            not_remembered(&e.to_string());
        }
    });
}

fn not_remembered(error: &str) {
    worker::console_error!(
        "storage: nonces.remember: stored, but the nonce was not remembered: {error}"
    );
}

async fn put(namespace: &KvStore, key: &str, ttl_seconds: u64) -> worker::Result<()> {
    let kv_error = |e: worker::kv::KvError| worker::Error::RustError(e.to_string());
    namespace
        .put(key, "1")
        .map_err(kv_error)?
        .expiration_ttl(ttl_seconds)
        .execute()
        .await
        .map_err(kv_error)
}

fn namespace(env: &Env) -> Result<KvStore, Problem> {
    env.kv(NONCES_BINDING)
        .map_err(|e| unavailable("NONCES binding", e))
}

/// Without nonces a replay could be accepted, so a KV failure refuses the request
/// (503, retry later) instead of degrading to D1's timestamp check alone. KV's 429
/// is overload: the same 503, with a jittered Retry-After (core::http::overload).
fn unavailable(what: &str, error: impl std::fmt::Display) -> Problem {
    kv_failure(what, &error.to_string())
}

#[inline(never)]
fn kv_failure(what: &str, error: &str) -> Problem {
    if overload::is_overloaded(error) {
        worker::console_warn!("storage: {what}: overloaded: {error}");
        return overloaded();
    }
    worker::console_error!("storage: {what}: {error}");
    Problem::Unavailable {
        dependency: "Replay protection",
        retry_after_seconds: 30,
    }
}
