//! Bridge nodes: the signed requests they send (`POST /register`, `POST /unregister`)
//! and what those share.

pub mod listing;
pub mod registration;
pub mod signed;
pub mod unregistration;
pub mod warm;

use crate::http::query::{Param, Undecodable};

/// The most nodes one directory answer lists (freshest first).
pub const DIRECTORY_LIMIT: u32 = 500;

/// A node's `url` as listed: the base URL its services answer at, `https://` on its
/// address (IPv6 in brackets). Nodes terminate TLS themselves (the installer sets up
/// nginx with certificates); gatehouse knows their address, not their domain names.
pub fn node_url(node_ip: &str) -> String {
    if node_ip.contains(':') {
        format!("https://[{node_ip}]")
    } else {
        format!("https://{node_ip}")
    }
}

/// `nodeServices` of `GET /node?nodeServices=N`: absent is 0 (every node). Present
/// and empty is refused like any other non-integer: /openapi.json publishes an
/// integer, and schemathesis's negative tests send `nodeServices=` expecting a 400.
pub fn directory_filter(raw: Param) -> Result<u32, signed::Invalid> {
    match raw {
        Ok(None) => Ok(0),
        Err(Undecodable) => Err(invalid_filter()),
        Ok(Some(v)) => v
            .parse::<u32>()
            .ok()
            .filter(|&n| n <= registration::MAX_NODE_SERVICES)
            .ok_or_else(invalid_filter),
    }
}

fn invalid_filter() -> signed::Invalid {
    signed::Invalid(
        "Invalid nodeServices: expected an integer bitmask (1 storage, 2 AI LLM, 4 chat; 0 for all)"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_directory_filters() {
        assert_eq!(node_url("203.0.113.9"), "https://203.0.113.9");
        assert_eq!(node_url("2001:db8::1"), "https://[2001:db8::1]");
        let filter = |raw: Option<&str>| directory_filter(Ok(raw.map(str::to_owned)));
        assert_eq!(filter(None), Ok(0));
        assert_eq!(filter(Some("5")), Ok(5));
        assert!(filter(Some("-1")).is_err());
        assert!(filter(Some("x")).is_err());
        assert!(filter(Some("")).is_err());
        assert!(filter(Some(" 5")).is_err());
        assert_eq!(directory_filter(Err(Undecodable)), Err(invalid_filter()));
    }
}
