//! The store layer: every D1 statement and KV access lives here (and the schema in
//! migrations/), nowhere else.
//!
//! Invariant: each public store function makes exactly one D1 round trip (one
//! statement or one batch) through the request's [`Db`], which routes it to the
//! primary or a replica and counts it. Primary round trips are what matter most in
//! production (each costs tens to hundreds of milliseconds at the edge); tests read the
//! counts and hold routes to budgets (docs/performance.md, "D1 round trips").

pub mod accounts;
mod batch;
pub mod db;
pub mod maintenance;
pub mod members;

pub mod node_env;
pub mod node_secrets;
pub mod nodes;
pub mod nonces;
pub mod org_changes;
pub mod org_keys;

use batch::{Arg, StatementResult};
pub use db::{Db, Route, D1_BINDING};
use gatehouse_core::d1_wire::row::FromRow;
use gatehouse_core::http::problem::Problem;
use worker::Env;

/// Binding name, as declared in wrangler.toml.
pub const NONCES_BINDING: &str = "NONCES";

/// Lets a batch delete an organization before the memberships that find it (the
/// unverified sweep; a verification that moves its founder elsewhere): the foreign
/// keys are checked at the end of the batch's transaction instead of at each
/// statement (D1's documented `PRAGMA defer_foreign_keys`); the batch still commits
/// only if every reference holds then.
pub const DEFER_FOREIGN_KEYS: &str = "PRAGMA defer_foreign_keys = on";

// Statement helpers shared by the store modules.

fn text(s: &str) -> Arg {
    Arg::Text(s.to_owned())
}

fn opt_text(s: Option<&str>) -> Arg {
    s.map_or(Arg::Null, text)
}

fn num(n: i64) -> Arg {
    Arg::Int(n)
}

/// The rows of the `i`-th statement of a batch.
fn rows<T: FromRow>(results: &[StatementResult], i: usize, what: &str) -> Result<Vec<T>, Problem> {
    results
        .get(i)
        .ok_or_else(|| storage_failure(what, "short batch"))?
        .rows()
        .map_err(|e| storage_failure(what, e))
}

// Row types are declared with `gatehouse_core::d1_row!` (core::d1_wire::row), not a
// derived `Deserialize`: a deserializer per row type was ~0.5 KiB gzip of the bundle
// each (docs/performance.md, "Bundle size"). Rows read as `serde_json::Value` are
// picked apart with these.

/// A text column of a row (empty when absent or not text).
fn text_of(row: &serde_json::Value, column: &str) -> String {
    row[column].as_str().unwrap_or_default().to_owned()
}

/// A number column of a row (D1 answers numbers as JSON numbers).
fn number_of(row: &serde_json::Value, column: &str) -> Option<i64> {
    row[column].as_f64().map(|n| n as i64)
}

/// Rows changed by the `i`-th statement of a batch.
fn changes(results: &[StatementResult], i: usize) -> usize {
    results.get(i).map_or(0, |r| r.changes() as usize)
}

/// Logs a storage failure and turns it into the client-facing error: D1 telling us to
/// back off is overload ([`overloaded`]), anything else the internal error.
pub fn storage_failure(what: &str, error: impl std::fmt::Display) -> Problem {
    failure(what, &error.to_string())
}

/// [`storage_failure`]'s body, once: generic callers each get only the `to_string`
/// (the wasm bundle has a size budget).
#[inline(never)]
fn failure(what: &str, error: &str) -> Problem {
    if gatehouse_core::http::overload::is_overloaded(error) {
        worker::console_warn!("storage: {what}: overloaded: {error}");
        return overloaded();
    }
    worker::console_error!("storage: {what}: {error}");
    Problem::Internal
}

/// Overload is an answer, not a 500: 503 with a jittered `Retry-After`, so the
/// callers' retries spread out (core::http::overload, docs/operations.md "Overload").
pub fn overloaded() -> Problem {
    Problem::Unavailable {
        dependency: "Storage",
        retry_after_seconds: jittered_retry_after(),
    }
}

/// A `Retry-After` in seconds, jittered (core::http::overload).
pub fn jittered_retry_after() -> u32 {
    let random = gatehouse_core::crypto::random_bytes::<4>().unwrap_or([0; 4]);
    gatehouse_core::http::overload::retry_after_seconds(u32::from_le_bytes(random))
}

/// Whether the D1 primary answers `SELECT 1` (`/health`). Counted as a primary round
/// trip, but made on the binding itself: no simulated distance or injected fault, so a
/// test worker made far away still comes up.
pub async fn ping_d1(env: &Env, counted: &Db) -> bool {
    counted.count_trip(Route::Primary);
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

/// Whether the nonce namespace answers a read (`/health`). Counted as a KV read, made
/// on the binding itself (as [`ping_d1`]).
pub async fn ping_kv(env: &Env, counted: &Db) -> bool {
    counted.count_kv_read();
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
