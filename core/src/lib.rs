//! gatehouse-core: everything gatehouse decides, nothing it does.
//!
//! This crate is sans-IO: it never talks to D1, KV, email or the network and does not
//! depend on the Workers runtime. The worker crate parses a request, calls in here for
//! every decision (routing, validation, canonical messages, crypto, error bodies), runs
//! the storage/email effects and renders the response. That keeps all of this testable
//! natively with `cargo test`, and the crypto additionally under wasm
//! (`tests/wasm.rs`, run by `make test`).

pub mod account;
pub mod config;
pub mod cors;
pub mod crypto;
pub mod fastapi;
pub mod node_registration;
pub mod node_secret;
pub mod openapi;
pub mod password;
pub mod problem;
pub mod query;
pub mod rate_limit;
pub mod routes;
pub mod rsa_keys;
pub mod time;

/// Version reported by `GET /health` and the OpenAPI document.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Largest request body any route accepts. Bigger bodies are refused with 413 before
/// they are parsed, so a client cannot make the worker buffer or parse megabytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
