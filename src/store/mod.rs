//! The store layer: every D1 statement and KV access lives here (and the schema in
//! migrations/), nowhere else.
//!
//! Invariant: each public store function makes exactly one D1 round trip (one
//! statement or one batch) and gets its handle from [`d1`], which counts it. The count
//! per request is what matters most in production (each round trip to the D1 primary
//! costs tens of milliseconds at the edge); tests read it and hold routes to budgets.

pub mod accounts;
pub mod node_secrets;
pub mod nodes;
pub mod nonces;
pub mod org_keys;

use gatehouse_core::problem::Problem;
use serde::Deserialize;
use std::cell::Cell;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result, Env};

/// Binding names, as declared in wrangler.toml.
pub const D1_BINDING: &str = "DB";
pub const NONCES_BINDING: &str = "NONCES";

thread_local! {
    static D1_ROUND_TRIPS: Cell<u32> = const { Cell::new(0) };
}

/// The D1 handle for one round trip (see the module invariant).
pub fn d1(env: &Env) -> Result<D1Database, Problem> {
    D1_ROUND_TRIPS.with(|n| n.set(n.get() + 1));
    env.d1(D1_BINDING)
        .map_err(|e| storage_failure("D1 binding", e))
}

/// Round trips since the last reset. Requests interleave within an isolate, so this
/// is exact only for one request at a time: tests measure sequentially.
pub fn take_round_trips() -> u32 {
    D1_ROUND_TRIPS.with(|n| n.replace(0))
}

// Statement helpers shared by the store modules.

fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}

fn opt_text(s: Option<&str>) -> JsValue {
    s.map_or(JsValue::NULL, JsValue::from_str)
}

fn num(n: i64) -> JsValue {
    JsValue::from_f64(n as f64)
}

fn stmt(
    db: &D1Database,
    sql: &str,
    args: &[JsValue],
    what: &str,
) -> Result<D1PreparedStatement, Problem> {
    db.prepare(sql)
        .bind(args)
        .map_err(|e| storage_failure(what, e))
}

/// The rows of the `i`-th statement of a batch.
fn rows<T: for<'de> Deserialize<'de>>(
    results: &[D1Result],
    i: usize,
    what: &str,
) -> Result<Vec<T>, Problem> {
    results
        .get(i)
        .ok_or_else(|| storage_failure(what, "short batch"))?
        .results()
        .map_err(|e| storage_failure(what, e))
}

/// Rows changed by the `i`-th statement of a batch.
fn changes(results: &[D1Result], i: usize) -> usize {
    results
        .get(i)
        .and_then(|r| r.meta().ok().flatten())
        .and_then(|m| m.changes)
        .unwrap_or(0)
}

/// Logs a storage failure and turns it into the client-facing internal error.
pub fn storage_failure(what: &str, error: impl std::fmt::Display) -> Problem {
    worker::console_error!("storage: {what}: {error}");
    Problem::Internal
}

pub async fn ping_d1(env: &Env) -> bool {
    let Ok(db) = env.d1(D1_BINDING) else {
        return false;
    };
    match db
        .prepare("SELECT 1 AS ok")
        .first::<serde_json::Value>(None)
        .await
    {
        Ok(Some(_)) => true,
        Ok(None) => false,
        Err(e) => {
            worker::console_error!("health: D1 did not answer: {e}");
            false
        }
    }
}

pub async fn ping_kv(env: &Env) -> bool {
    let Ok(kv) = env.kv(NONCES_BINDING) else {
        return false;
    };
    // A read of a key that never exists: proves the namespace answers, writes nothing.
    match kv.get("health:probe").text().await {
        Ok(_) => true,
        Err(e) => {
            worker::console_error!("health: KV did not answer: {e}");
            false
        }
    }
}
