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
pub mod crypto;
pub mod d1_wire;
pub mod fastapi;
pub mod http;
pub mod maintenance;

pub mod node_env;
pub mod node_secret;
pub mod nodes;
pub mod org_changes;
pub mod org_keys;
pub mod time;

/// Version reported by `GET /health` and the OpenAPI document.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Largest request body any route accepts. Bigger bodies are refused with 413 before
/// they are parsed, so a client cannot make the worker buffer or parse megabytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Largest request header section accepted (names + values + 4 bytes per line, as
/// on the wire). Our headers are small (a bearer token is < 1 KiB); Cloudflare's edge
/// allows far more, so the worker sets its own bound (431 in the family's shape).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Size of a header section as [`MAX_HEADER_BYTES`] counts it.
pub fn header_section_bytes<'h>(headers: impl IntoIterator<Item = (&'h str, &'h str)>) -> usize {
    headers
        .into_iter()
        .map(|(name, value)| name.len() + value.len() + 4)
        .sum()
}

#[cfg(test)]
mod tests {
    #[test]
    fn header_section_counts_names_values_and_line_overhead() {
        assert_eq!(
            super::header_section_bytes([("host", "a"), ("x-y", "bc")]),
            9 + 9
        );
        assert_eq!(super::header_section_bytes([]), 0);
    }
}
