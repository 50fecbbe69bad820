//! `GET /health`: version, whether config, D1 and KV answer, and the ids of the
//! `NODE_ENV_KEY`s and `JWT_SECRET`s this location holds.
//!
//! Anyone may call it, and monitors call it often, so its storage checks (a `SELECT
//! 1` on the D1 primary, a KV read) are made at most once per [`STORAGE_CHECK_MS`]
//! per isolate and reused in between: a flood of health checks cannot add load to the
//! one D1 primary the heartbeats need. The config is checked on every call (it is
//! read in the isolate). Unhealthy is 503 with a jittered `Retry-After`, as every
//! overloaded answer (docs/operations.md, "Overload").

use crate::store::{self, Db};
use crate::{config, http};
use gatehouse_core::config::Secret;
use gatehouse_core::node_env::at_rest::NodeEnvKey;
use serde_json::json;
use std::cell::Cell;
use worker::{Env, Response};

/// How long an isolate reuses its last storage check.
pub const STORAGE_CHECK_MS: i64 = 5_000;

/// The last storage check of this isolate: when, D1 ok, KV ok.
#[derive(Clone, Copy)]
struct StorageCheck {
    at_ms: i64,
    d1_ok: bool,
    kv_ok: bool,
}

thread_local! {
    static LAST_STORAGE_CHECK: Cell<Option<StorageCheck>> = const { Cell::new(None) };
}

pub async fn handle(env: &Env, db: &Db) -> Response {
    let config = config::load(env)
        .inspect_err(|e| worker::console_error!("health: {e}"))
        .ok();
    let config_ok = config.is_some();
    let check = storage_check(env, db).await;
    let word = |ok: bool| if ok { "ok" } else { "error" };
    let healthy = config_ok && check.d1_ok && check.kv_ok;
    let mut body = json!({
        "status": if healthy { "ok" } else { "degraded" },
        "version": version(),
        "checks": { "config": word(config_ok), "d1": word(check.d1_ok), "kv": word(check.kv_ok) },
    });
    if let Some(config) = config {
        // Which secrets this location holds, by their public ids: a rotation's
        // `secret put` is seen to have arrived, and node-env-reseal checks its keys.
        let id = |key: &Option<NodeEnvKey>| key.as_ref().map(NodeEnvKey::id);
        body["keyIds"] = json!({
            "nodeEnv": id(&config.node_env_key),
            "nodeEnvPrevious": id(&config.node_env_key_previous),
            "jwt": config.jwt_secret.jwt_key_id(),
            "jwtPrevious": config.jwt_previous_secret.as_ref().map(Secret::jwt_key_id),
        });
    }
    let response = http::json(if healthy { 200 } else { 503 }, &body);
    if !healthy {
        let retry_after = store::jittered_retry_after().to_string();
        let _ = response.headers().set("retry-after", &retry_after);
    }
    response
}

/// The crate's version and the commit it was built from (`make build` passes it:
/// `0.1.0+1a2b3c4d5e6f`), so an operator sees which release serves; the crate's alone
/// outside a git checkout. `GET /` shows the same.
pub(super) fn version() -> String {
    match option_env!("GATEHOUSE_COMMIT") {
        Some(commit) if !commit.is_empty() => format!("{}+{commit}", gatehouse_core::VERSION),
        _ => gatehouse_core::VERSION.to_owned(),
    }
}

/// This isolate's storage check, made again once the last is [`STORAGE_CHECK_MS`] old.
async fn storage_check(env: &Env, db: &Db) -> StorageCheck {
    let now_ms = crate::clock::now_ms();
    if let Some(last) = LAST_STORAGE_CHECK.get() {
        if (0..STORAGE_CHECK_MS).contains(&(now_ms - last.at_ms)) {
            return last;
        }
    }
    let check = StorageCheck {
        at_ms: now_ms,
        d1_ok: store::ping_d1(env, db).await,
        kv_ok: store::ping_kv(env, db).await,
    };
    LAST_STORAGE_CHECK.set(Some(check));
    check
}
