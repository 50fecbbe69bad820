//! `GET /health`: version, and whether config, D1 and KV answer.

use crate::{config, http, store};
use serde_json::json;
use worker::{Env, Response};

pub async fn handle(env: &Env) -> Response {
    let config_ok = match config::load(env) {
        Ok(_) => true,
        Err(e) => {
            worker::console_error!("health: {e}");
            false
        }
    };
    let d1_ok = store::ping_d1(env).await;
    let kv_ok = store::ping_kv(env).await;
    let word = |ok: bool| if ok { "ok" } else { "error" };
    let healthy = config_ok && d1_ok && kv_ok;
    http::json(
        if healthy { 200 } else { 503 },
        &json!({
            "status": if healthy { "ok" } else { "degraded" },
            "version": gatehouse_core::VERSION,
            "checks": { "config": word(config_ok), "d1": word(d1_ok), "kv": word(kv_ok) },
        }),
    )
}
