//! `POST /register`: a bridge node's signed registration.
//!
//! Signature contract, version 1 (README, "POST /register"): the signed bytes
//! are the UTF-8 of these lines joined by `\n`, no trailing newline:
//!
//! ```text
//! gatehouse-node-register-v1
//! <provider>
//! <ip>
//! <status>
//! <region>
//! <version>
//! <timestamp>
//! <id_org, or empty>
//! ```
//!
//! Fields are signed exactly as sent. A field containing a control character is
//! refused, so a `\n` can never move a value into another line.

use crate::crypto::{hex, sha256};
use crate::time::parse_rfc3339_ms;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use serde_json::Value;
use std::net::IpAddr;

pub const SIGNATURE_CONTEXT: &str = "gatehouse-node-register-v1";
pub const PROVIDERS: [&str; 3] = ["S3", "GCS", "AZURE"];

/// The most keys one request may try: the active keys of one organization, whose
/// quota (`ORGKEYS_MAX`) may not exceed this. With e = 65537 only, that bounds the
/// RSA work an unauthenticated request can cause to 10 public operations (≈ 4 ms at
/// 4096 bits in wasm), whatever anyone uploads.
pub const MAX_CANDIDATE_KEYS: usize = 10;

/// Which organization's keys may verify a registration: the node's own once it is
/// registered (a node never changes organization), else the one it names. A first
/// registration must name it: trying every organization's keys would let anyone who
/// uploads keys push others out of a bounded search, and could land a node in the
/// wrong organization.
pub fn verifying_org<'a>(
    id_org: Option<&'a str>,
    registered_org: Option<&'a str>,
) -> Result<&'a str, Invalid> {
    match (registered_org, id_org) {
        (Some(owner), Some(named)) if owner != named => Err(invalid(NODE_OF_ANOTHER_ORG)),
        (Some(owner), _) => Ok(owner),
        (None, Some(named)) => Ok(named),
        (None, None) => Err(invalid(
            "Missing id_org: a node's first registration must name its organization",
        )),
    }
}

pub const NODE_OF_ANOTHER_ORG: &str = "Node is registered to another organization";

/// The fields as sent; `canonical_message` signs exactly these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedFields {
    pub provider: String,
    pub ip: String,
    pub status: String,
    pub region: String,
    pub version: String,
    pub timestamp: String,
    pub id_org: Option<String>,
}

/// A request that passed every check that needs no storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRegistration {
    pub fields: SignedFields,
    /// The node's identity: `ip` in canonical form (so `::1` and `0::1` are one node).
    pub node_ip: String,
    pub timestamp_ms: i64,
    pub signature: Vec<u8>,
}

/// What is wrong with a request, as the 400 message says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

fn invalid(msg: impl Into<String>) -> Invalid {
    Invalid(msg.into())
}

impl SignedFields {
    /// The exact bytes a node signs.
    pub fn canonical_message(&self) -> String {
        [
            SIGNATURE_CONTEXT,
            &self.provider,
            &self.ip,
            &self.status,
            &self.region,
            &self.version,
            &self.timestamp,
            self.id_org.as_deref().unwrap_or(""),
        ]
        .join("\n")
    }
}

/// Parses and checks a request body (not the signature itself, and not freshness:
/// see [`check_freshness`]).
pub fn parse(body: &[u8]) -> Result<NodeRegistration, Invalid> {
    let value: Value = serde_json::from_slice(body).map_err(|_| invalid("Invalid JSON body"))?;
    let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
    let (
        Some(provider),
        Some(ip),
        Some(status),
        Some(region),
        Some(version),
        Some(timestamp),
        Some(signature),
    ) = (
        text("provider"),
        text("ip"),
        text("status"),
        text("region"),
        text("version"),
        text("timestamp"),
        text("signature"),
    )
    else {
        return Err(invalid("Missing required fields"));
    };
    let id_org = match value.get("id_org") {
        // An empty id_org signs the same (empty) line as an absent one.
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(invalid("Invalid id_org: expected a string")),
    };
    let fields = SignedFields {
        provider,
        ip,
        status,
        region,
        version,
        timestamp,
        id_org,
    };

    for (name, v) in [
        ("provider", &fields.provider),
        ("ip", &fields.ip),
        ("status", &fields.status),
        ("region", &fields.region),
        ("version", &fields.version),
        ("timestamp", &fields.timestamp),
    ]
    .into_iter()
    .chain(fields.id_org.as_ref().map(|v| ("id_org", v)))
    {
        if v.chars().any(char::is_control) {
            return Err(invalid(format!(
                "Invalid {name}: control characters are not allowed"
            )));
        }
    }
    if !PROVIDERS.contains(&fields.provider.as_str()) {
        return Err(invalid("Invalid provider: expected one of S3, GCS, AZURE"));
    }
    let node_ip = node_identity(&fields.ip)?;
    check_token("status", &fields.status, 32)?;
    check_text("region", &fields.region, 64)?;
    check_text("version", &fields.version, 64)?;
    if let Some(id_org) = &fields.id_org {
        check_text("id_org", id_org, 64)?;
    }
    let timestamp_ms = parse_rfc3339_ms(&fields.timestamp).ok_or_else(|| {
        invalid("Invalid timestamp: expected RFC 3339, e.g. 2024-01-15T10:30:00.000Z")
    })?;
    let signature = decode_signature(&signature)?;
    Ok(NodeRegistration {
        fields,
        node_ip,
        timestamp_ms,
        signature,
    })
}

/// The node's identity: its address in canonical form, an IPv4-mapped IPv6 address
/// folded to IPv4 (`::ffff:203.0.113.9` is `203.0.113.9`). Addresses no bridge node
/// can be reached at are refused; private ranges are allowed (nodes on a LAN).
pub fn node_identity(ip: &str) -> Result<String, Invalid> {
    let ip = ip
        .parse::<IpAddr>()
        .map_err(|_| invalid("Invalid ip: expected an IPv4 or IPv6 address"))?
        .to_canonical();
    let unreachable = match ip {
        IpAddr::V4(v4) => {
            v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.octets()[0] == 0
        }
        IpAddr::V6(v6) => {
            v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    };
    if unreachable {
        return Err(invalid(
            "Invalid ip: unspecified, loopback, link-local, multicast and broadcast addresses cannot be a node's",
        ));
    }
    Ok(ip.to_string())
}

fn check_token(name: &str, v: &str, max: usize) -> Result<(), Invalid> {
    let ok = !v.is_empty()
        && v.len() <= max
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some(()).ok_or_else(|| {
        invalid(format!(
            "Invalid {name}: 1 to {max} letters, digits, '-' or '_'"
        ))
    })
}

fn check_text(name: &str, v: &str, max: usize) -> Result<(), Invalid> {
    let len = v.chars().count();
    (len >= 1 && len <= max && v.trim() == v)
        .then_some(())
        .ok_or_else(|| {
            invalid(format!(
                "Invalid {name}: 1 to {max} characters, no surrounding spaces"
            ))
        })
}

/// Standard base64, padding optional. RSA-2048..4096 signatures are 256..512 bytes.
fn decode_signature(s: &str) -> Result<Vec<u8>, Invalid> {
    let bad = || invalid("Invalid signature encoding: expected standard base64");
    let bytes = if s.ends_with('=') {
        STANDARD.decode(s)
    } else {
        STANDARD_NO_PAD.decode(s)
    }
    .map_err(|_| bad())?;
    if !(256..=512).contains(&bytes.len()) {
        return Err(invalid("Invalid signature"));
    }
    Ok(bytes)
}

/// The timestamp must be within ±`skew_seconds` of `now_ms`.
pub fn check_freshness(
    registration: &NodeRegistration,
    now_ms: i64,
    skew_seconds: u32,
) -> Result<(), Invalid> {
    let skew_ms = i64::from(skew_seconds) * 1000;
    if (registration.timestamp_ms - now_ms).abs() > skew_ms {
        return Err(invalid(format!(
            "Timestamp outside the allowed window of ±{skew_seconds} seconds"
        )));
    }
    Ok(())
}

/// The KV key that marks this signature as used.
pub fn nonce_key(signature: &[u8]) -> String {
    format!("register-nonce:{}", hex(&sha256(signature)))
}

/// How long a nonce must live: a signature stays acceptable for the whole window
/// around its timestamp (2 × skew), plus a margin; KV's minimum TTL is 60 s.
pub fn nonce_ttl_seconds(skew_seconds: u32) -> u64 {
    (2 * u64::from(skew_seconds) + 60).max(60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(overrides: Value) -> Vec<u8> {
        let mut v = json!({
            "provider": "S3", "ip": "203.0.113.7", "status": "active", "region": "eu-west-1",
            "version": "1.4.2", "timestamp": "2024-01-15T10:30:00.000Z",
            "signature": STANDARD.encode([7u8; 256]),
        });
        for (k, val) in overrides.as_object().unwrap() {
            if val.is_null() {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = val.clone();
            }
        }
        v.to_string().into_bytes()
    }

    fn message_of(overrides: Value) -> String {
        parse(&body(overrides)).unwrap_err().0
    }

    #[test]
    fn canonical_message_is_the_documented_lines() {
        let reg = parse(&body(json!({}))).unwrap();
        assert_eq!(
            reg.fields.canonical_message(),
            "gatehouse-node-register-v1\nS3\n203.0.113.7\nactive\neu-west-1\n1.4.2\n2024-01-15T10:30:00.000Z\n"
        );
        let with_org = parse(&body(json!({"id_org": "org-1"}))).unwrap();
        assert!(with_org.fields.canonical_message().ends_with("\norg-1"));
    }

    #[test]
    fn fields_are_signed_as_sent_but_nodes_keyed_canonically() {
        let reg = parse(&body(json!({"ip": "2001:DB8:0::1"}))).unwrap();
        assert!(reg.fields.canonical_message().contains("\n2001:DB8:0::1\n"));
        assert_eq!(reg.node_ip, "2001:db8::1");
    }

    #[test]
    fn every_missing_or_mistyped_required_field_is_reported() {
        for field in [
            "provider",
            "ip",
            "status",
            "region",
            "version",
            "timestamp",
            "signature",
        ] {
            assert_eq!(
                message_of(json!({ field: null })),
                "Missing required fields",
                "{field} absent"
            );
            assert_eq!(
                message_of(json!({ field: 5 })),
                "Missing required fields",
                "{field} number"
            );
        }
        assert_eq!(parse(b"[]").unwrap_err().0, "Missing required fields");
        assert_eq!(parse(b"{").unwrap_err().0, "Invalid JSON body");
    }

    #[test]
    fn each_field_is_validated() {
        assert!(message_of(json!({"provider": "s3"})).starts_with("Invalid provider"));
        assert!(message_of(json!({"ip": "300.1.1.1"})).starts_with("Invalid ip"));
        assert!(message_of(json!({"ip": "example.com"})).starts_with("Invalid ip"));
        assert!(message_of(json!({"status": "act ive"})).starts_with("Invalid status"));
        assert!(message_of(json!({"region": ""})).starts_with("Invalid region"));
        assert!(message_of(json!({"version": "x".repeat(65)})).starts_with("Invalid version"));
        assert!(message_of(json!({"timestamp": "yesterday"})).starts_with("Invalid timestamp"));
        assert!(message_of(json!({"signature": "not base64!"}))
            .starts_with("Invalid signature encoding"));
        assert_eq!(
            message_of(json!({"signature": "AAAA"})),
            "Invalid signature"
        );
        assert!(message_of(json!({"id_org": 7})).starts_with("Invalid id_org"));
    }

    #[test]
    fn mapped_addresses_fold_and_unreachable_ones_are_refused() {
        assert_eq!(node_identity("::ffff:203.0.113.9").unwrap(), "203.0.113.9");
        assert_eq!(node_identity("::FFFF:cb00:7109").unwrap(), "203.0.113.9");
        assert_eq!(node_identity("192.168.1.100").unwrap(), "192.168.1.100");
        assert_eq!(node_identity("10.0.0.1").unwrap(), "10.0.0.1");
        assert_eq!(node_identity("fd00::1").unwrap(), "fd00::1");
        for bad in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.8.8.8",
            "169.254.1.1",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.0.1",
        ] {
            assert!(
                node_identity(bad)
                    .unwrap_err()
                    .0
                    .starts_with("Invalid ip: unspecified"),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_verifying_org_is_the_nodes_own_or_the_named_one_for_a_new_node() {
        assert_eq!(verifying_org(Some("a"), None), Ok("a"));
        assert_eq!(verifying_org(None, Some("a")), Ok("a"));
        assert_eq!(verifying_org(Some("a"), Some("a")), Ok("a"));
        assert_eq!(
            verifying_org(Some("b"), Some("a")).unwrap_err().0,
            NODE_OF_ANOTHER_ORG
        );
        assert!(verifying_org(None, None)
            .unwrap_err()
            .0
            .starts_with("Missing id_org"));
    }

    #[test]
    fn control_characters_cannot_shift_lines() {
        assert_eq!(
            message_of(json!({"region": "eu\nS3"})),
            "Invalid region: control characters are not allowed"
        );
        assert!(message_of(json!({"id_org": "a\u{0}"})).contains("control characters"));
    }

    #[test]
    fn padding_is_optional() {
        let sig = STANDARD.encode([1u8; 256]);
        assert!(sig.ends_with('='));
        let unpadded = sig.trim_end_matches('=');
        assert_eq!(
            parse(&body(json!({"signature": unpadded})))
                .unwrap()
                .signature,
            vec![1u8; 256]
        );
    }

    #[test]
    fn freshness_window_is_inclusive_and_symmetric() {
        let reg = parse(&body(json!({}))).unwrap();
        let t = reg.timestamp_ms;
        assert!(check_freshness(&reg, t + 300_000, 300).is_ok());
        assert!(check_freshness(&reg, t - 300_000, 300).is_ok());
        assert!(check_freshness(&reg, t + 300_001, 300).is_err(), "stale");
        assert!(check_freshness(&reg, t - 300_001, 300).is_err(), "future");
    }

    #[test]
    fn nonces_depend_on_the_signature_only() {
        assert_eq!(nonce_key(b"sig"), nonce_key(b"sig"));
        assert_ne!(nonce_key(b"sig"), nonce_key(b"sih"));
        assert_eq!(nonce_ttl_seconds(300), 660);
    }
}
