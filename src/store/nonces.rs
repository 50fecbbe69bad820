//! Replay nonces in KV (`NONCES`). KV is eventually consistent across locations, so
//! this is the fast first layer; D1's strictly-increasing timestamp is the guarantee.

use super::{Db, NONCES_BINDING};
use gatehouse_core::http::problem::Problem;
use worker::kv::KvStore;
use worker::Env;

/// Whether the nonce was seen. A KV failure is an error: registration fails closed.
pub async fn seen(env: &Env, db: &Db, key: &str) -> Result<bool, Problem> {
    db.count_kv_call();
    let value = namespace(env)?
        .get(key)
        .text()
        .await
        .map_err(|e| unavailable("nonces.seen", e))?;
    Ok(value.is_some())
}

pub async fn remember(env: &Env, db: &Db, key: &str, ttl_seconds: u64) -> Result<(), Problem> {
    db.count_kv_call();
    namespace(env)?
        .put(key, "1")
        .map_err(|e| unavailable("nonces.remember", e))?
        .expiration_ttl(ttl_seconds)
        .execute()
        .await
        .map_err(|e| unavailable("nonces.remember", e))
}

fn namespace(env: &Env) -> Result<KvStore, Problem> {
    env.kv(NONCES_BINDING)
        .map_err(|e| unavailable("NONCES binding", e))
}

/// Without nonces a replay could be accepted, so a KV failure refuses the request
/// (503, retry later) instead of degrading to D1's timestamp check alone.
fn unavailable(what: &str, error: impl std::fmt::Display) -> Problem {
    worker::console_error!("storage: {what}: {error}");
    Problem::Unavailable {
        dependency: "Replay protection",
        retry_after_seconds: 30,
    }
}
