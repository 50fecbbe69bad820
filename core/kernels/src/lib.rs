//! The hot loops of gatehouse's crypto, in a crate of their own so that they build at
//! `opt-level = 3` while the rest of gatehouse-core builds for size (`"s"`, as the
//! worker): a request's CPU is these loops (a password hash is hundreds of thousands
//! of SHA-2 compressions, a node registration an RSA public operation), while the
//! rest of core is validation and rendering, whose bytes every cold start loads
//! (docs/performance.md, "Build profile"). Only non-generic functions are exported:
//! a generic one would be compiled in the crate that instantiates it, at its level.
//! gatehouse-core re-exports both modules as `crypto::pbkdf2` and `crypto::rsa_verify`.

pub mod pbkdf2;
pub mod rsa_verify;

/// Lowercase hex, for the tests' expected values.
#[cfg(test)]
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
