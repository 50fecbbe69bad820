//! A D1 batch across the wasm↔JS boundary in few crossings: every statement's bound
//! values go over as one JSON text (one `JSON.parse`), and D1's answer comes back as
//! one (`JSON.stringify`), parsed here by serde_json.
//!
//! Why: workers-rs binds a value per call (an `Array` push, and a string conversion
//! per text) and reads each result's `meta` and rows through serde-wasm-bindgen, a
//! call per field — some hundred crossings for a two-statement batch, each paying the
//! glue's checks and a `TextDecoder` for every key. That was the largest share of the
//! Rust worker's CPU above the plain-JS anchor on `/register`'s D1 paths
//! (docs/rust-vs-js.md, "What was found and done"). The values, SQL and results are
//! the same; only the way across changes.

use gatehouse_core::d1_wire::{parse_batch, values_json};
pub use gatehouse_core::d1_wire::{Arg, StatementResult};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::js_sys::{self, Array, JSON};
use worker::worker_sys::D1DatabaseSession as SessionSys;

/// Runs `statements` (SQL and bound values) on `session` (a `D1DatabaseSession`) as
/// one atomic batch.
pub async fn run(
    session: &JsValue,
    statements: &[(&str, &[Arg])],
) -> Result<Vec<StatementResult>, BatchError> {
    let session: &SessionSys = session.unchecked_ref();
    let values: Vec<&[Arg]> = statements.iter().map(|(_, args)| *args).collect();
    let values: Array = JSON::parse(&values_json(&values))
        .map_err(d1_error)?
        .unchecked_into();
    let prepared = Array::new();
    for (i, (sql, _)) in statements.iter().enumerate() {
        let statement = session.session_prepare(sql).map_err(d1_error)?;
        let bound = statement
            .bind(values.get(i as u32).unchecked_into())
            .map_err(d1_error)?;
        prepared.push(&bound);
    }
    let promise = session.session_batch(prepared).map_err(d1_error)?;
    let answer = JsFuture::from(promise).await.map_err(d1_error)?;
    let text = JSON::stringify(&answer)
        .map_err(d1_error)?
        .as_string()
        .unwrap_or_default();
    parse_batch(&text).map_err(|e| BatchError::Unreadable(e.to_string()))
}

/// Why a batch failed.
pub enum BatchError {
    /// D1's own error: the batch was refused or failed there (e.g. a bookmark it does
    /// not take, a constraint).
    D1(worker::Error),
    /// D1 answered, but serde_json could not read the answer: not D1 refusing the
    /// batch, so not a reason to run it again (store::db's bookmark fallback).
    Unreadable(String),
}

impl From<BatchError> for worker::Error {
    fn from(error: BatchError) -> worker::Error {
        match error {
            BatchError::D1(error) => error,
            BatchError::Unreadable(e) => {
                worker::Error::RustError(format!("D1 answered unreadable results: {e}"))
            }
        }
    }
}

/// D1's error as text: its message and its cause's (D1 puts SQLite's own message,
/// e.g. which UNIQUE constraint failed, in the cause), which the store matches on
/// (a taken email, a known key) and the overload check reads.
fn d1_error(error: JsValue) -> BatchError {
    let Some(error) = error.dyn_ref::<js_sys::Error>() else {
        return BatchError::D1(worker::Error::RustError(format!("D1: {error:?}")));
    };
    let message = String::from(error.message());
    let cause = error.cause();
    let cause = match cause.dyn_ref::<js_sys::Error>() {
        Some(cause) => Some(String::from(cause.message())),
        None if cause.is_undefined() || cause.is_null() => None,
        // Not an Error (D1 always sends one today): its text, or its debug form.
        None => Some(cause.as_string().unwrap_or_else(|| format!("{cause:?}"))),
    };
    BatchError::D1(worker::Error::RustError(match cause {
        Some(cause) if cause != message => format!("D1: {message} (cause: {cause})"),
        _ => format!("D1: {message}"),
    }))
}
