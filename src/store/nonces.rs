//! Replay nonces in KV (`NONCES`). KV is eventually consistent across locations, so
//! this is the fast first layer; D1's strictly-increasing timestamp is the guarantee.

use super::{storage_failure, NONCES_BINDING};
use gatehouse_core::problem::Problem;
use worker::Env;

/// Whether the nonce was seen. A KV failure is an error: registration fails closed.
pub async fn seen(env: &Env, key: &str) -> Result<bool, Problem> {
    let kv = env
        .kv(NONCES_BINDING)
        .map_err(|e| storage_failure("NONCES binding", e))?;
    let value = kv
        .get(key)
        .text()
        .await
        .map_err(|e| storage_failure("nonces.seen", e))?;
    Ok(value.is_some())
}

pub async fn remember(env: &Env, key: &str, ttl_seconds: u64) -> Result<(), Problem> {
    let kv = env
        .kv(NONCES_BINDING)
        .map_err(|e| storage_failure("NONCES binding", e))?;
    kv.put(key, "1")
        .map_err(|e| storage_failure("nonces.remember", e))?
        .expiration_ttl(ttl_seconds)
        .execute()
        .await
        .map_err(|e| storage_failure("nonces.remember", e))
}
