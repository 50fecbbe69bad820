//! What every signed node request shares (`POST /register`, `POST /unregister`): the
//! node's identity, its timestamp in either accepted form, the organization field in
//! either spelling, the signature, freshness, replay nonces, and which organization's
//! keys may verify.

use crate::crypto::{hex, sha256};
use crate::time::{format_rfc3339_ms, parse_rfc3339_ms};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What is wrong with a request, as the 400 message says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

pub(crate) fn invalid(msg: impl Into<String>) -> Invalid {
    Invalid(msg.into())
}

/// The most keys one request may try: the active keys of one organization, whose
/// quota (`ORGKEYS_MAX`) may not exceed this. With e = 65537 only, that bounds the
/// RSA work an unauthenticated request can cause to 10 public operations (≈ 4 ms at
/// 4096 bits in wasm), whatever anyone uploads. However many message forms a request
/// may be signed in, each key costs one public operation (rsa_verify::verify_any).
pub const MAX_CANDIDATE_KEYS: usize = 10;

/// What a signed node request answers when no candidate key verifies its signature,
/// whatever the reason: no such organization, no keys, the wrong key, a forged
/// signature. One answer until a signature verifies, so nothing about organizations,
/// keys or registered addresses can be learnt without a key.
pub const INVALID_SIGNATURE: &str = "Invalid signature";
/// The same when the request names no organization: then the candidates are the
/// organizations the address is registered in, so a first registration gets this.
pub const INVALID_SIGNATURE_WITHOUT_ORG: &str =
    "Invalid signature (a node's first registration must also name its organization: id_org)";

/// Which organizations' keys may verify a request: the one it names, else (a node
/// re-registering without `id_org`) those the address is registered in. A first
/// registration must name its organization: trying every organization's keys would
/// let anyone who uploads keys push others out of a bounded search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Candidates<'a> {
    Named(&'a str),
    RegisteredAt,
}

impl<'a> Candidates<'a> {
    pub fn of(id_org: Option<&'a str>) -> Candidates<'a> {
        id_org.map_or(Candidates::RegisteredAt, Candidates::Named)
    }

    /// Whether a key of `org_id` may verify.
    pub fn admits(self, org_id: &str) -> bool {
        match self {
            Candidates::Named(named) => named == org_id,
            Candidates::RegisteredAt => true,
        }
    }

    /// The answer when no candidate verifies.
    pub fn refusal(self) -> &'static str {
        match self {
            Candidates::Named(_) => INVALID_SIGNATURE,
            Candidates::RegisteredAt => INVALID_SIGNATURE_WITHOUT_ORG,
        }
    }
}

/// A request timestamp, as sent and as an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    /// Exactly what is signed: the RFC 3339 text, or the integer's decimal digits.
    pub text: String,
    pub ms: i64,
    /// Sent as a JSON integer of Unix seconds (what the installer signs).
    pub unix_seconds: bool,
}

/// Integers from here on are milliseconds (JavaScript's `Date.now()`); below, seconds.
/// 10^12 ms is September 2001 and 10^12 s is the year 33658, so they cannot be confused.
pub const MILLISECONDS_FROM: i64 = 1_000_000_000_000;

/// `timestamp` as an RFC 3339 string (the seed) or a JSON integer of Unix seconds (the
/// installer) or milliseconds (the client's `Date.now()`). `None` when absent or of
/// another JSON type; `Some(Err)` when present but malformed.
pub fn timestamp(body: &Value) -> Option<Result<Timestamp, Invalid>> {
    let bad = || {
        invalid("Invalid timestamp: expected RFC 3339 (e.g. 2024-01-15T10:30:00.000Z) or Unix seconds or milliseconds as an integer")
    };
    Some(match body.get("timestamp")? {
        Value::String(text) => {
            if text.chars().any(char::is_control) {
                return Some(Err(invalid(
                    "Invalid timestamp: control characters are not allowed",
                )));
            }
            parse_rfc3339_ms(text).ok_or_else(bad).map(|ms| Timestamp {
                text: text.clone(),
                ms,
                unix_seconds: false,
            })
        }
        Value::Number(n) => match n.as_i64().filter(|&v| v >= 0) {
            Some(v) if v >= MILLISECONDS_FROM => Ok(Timestamp {
                text: v.to_string(),
                ms: v,
                unix_seconds: false,
            }),
            Some(v) => Ok(Timestamp {
                text: v.to_string(),
                ms: v.saturating_mul(1000),
                unix_seconds: true,
            }),
            None => Err(bad()),
        },
        _ => return None,
    })
}

/// The organization the request names: `id_org`, or `org_id` as installers before
/// October 2025 spelled it. Empty means absent; both present must agree.
pub fn named_org(body: &Value) -> Result<Option<String>, Invalid> {
    let field = |name: &str| match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("Invalid {name}: expected a string"))),
    };
    let org = match (field("id_org")?, field("org_id")?) {
        (Some(a), Some(b)) if a != b => {
            return Err(invalid(
                "Invalid id_org: id_org and org_id name different organizations",
            ))
        }
        (a, b) => a.or(b),
    };
    if let Some(org) = &org {
        check_text("id_org", org, 64)?;
    }
    Ok(org)
}

/// The node's address in canonical form (within its organization, it is the node's
/// identity): an IPv6 address that stands for exactly one IPv4 host — IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-translated (`::ffff:0:a.b.c.d`), IPv4-compatible
/// (`::a.b.c.d`) or NAT64 (`64:ff9b::a.b.c.d`) — is folded to that IPv4 address, so one
/// host is one node. Tunnel addresses (6to4 `2002::/16`, Teredo `2001::/32`, local-use
/// NAT64 `64:ff9b:1::/48`) are refused: they name a relay, not a host. Addresses no
/// bridge node can be reached at are refused; private ranges are allowed (nodes on a
/// LAN; they cannot collide across organizations, whose nodes are apart).
pub fn node_identity(ip: &str) -> Result<String, Invalid> {
    let ip = match ip
        .parse::<IpAddr>()
        .map_err(|_| invalid("Invalid ip: expected an IPv4 or IPv6 address"))?
    {
        IpAddr::V6(v6) => embedded_ipv4(&v6)?.map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    let unreachable = match ip {
        IpAddr::V4(v4) => {
            v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_multicast()
                // 240.0.0.0/4, reserved; includes the broadcast address.
                || v4.octets()[0] >= 240
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
            "Invalid ip: unspecified, loopback, link-local, multicast, broadcast and reserved addresses cannot be a node's",
        ));
    }
    Ok(ip.to_string())
}

/// The IPv4 host an IPv6 address stands for, if it is one of the forms that embed one
/// host's address; an error for tunnel relays.
fn embedded_ipv4(v6: &Ipv6Addr) -> Result<Option<Ipv4Addr>, Invalid> {
    let s = v6.segments();
    let [.., high, low] = s;
    let host = Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    let zeros = |range: std::ops::Range<usize>| s[range].iter().all(|&x| x == 0);
    let mapped = zeros(0..5) && s[5] == 0xffff;
    let translated = zeros(0..4) && s[4] == 0xffff && s[5] == 0;
    // `::` and `::1` are IPv6's own unspecified and loopback addresses.
    let compatible = zeros(0..6) && u32::from(host) > 1;
    let nat64 = s[0] == 0x64 && s[1] == 0xff9b && zeros(2..6);
    if mapped || translated || compatible || nat64 {
        return Ok(Some(host));
    }
    let six_to_four = s[0] == 0x2002;
    let teredo = s[0] == 0x2001 && s[1] == 0;
    let local_nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1;
    if six_to_four || teredo || local_nat64 {
        return Err(invalid(
            "Invalid ip: 6to4, Teredo and NAT64 relay addresses name a tunnel, not a node; register the node's own address",
        ));
    }
    Ok(None)
}

/// The installer's signed message, for /register and /unregister alike:
/// `ip|region|timestamp` (timestamp in Unix seconds as sent; id_org is not signed).
pub fn installer_message(ip: &str, region: &str, timestamp: &Timestamp) -> Option<String> {
    timestamp
        .unix_seconds
        .then(|| format!("{ip}|{region}|{}", timestamp.text))
}

/// Published fields (`status`, `region`, `version` appear verbatim in `GET /node` and
/// the organization's list) are short words of a safe alphabet: ASCII letters, digits
/// and the punctuation in `extra`. Nothing that a page, a log query or a terminal could
/// read as markup, a lookup (`${jndi:…}`) or a direction change.
pub(crate) fn check_token(name: &str, v: &str, max: usize, extra: &str) -> Result<(), Invalid> {
    let ok = !v.is_empty()
        && v.len() <= max
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c));
    ok.then_some(()).ok_or_else(|| {
        let quoted: Vec<String> = extra.chars().map(|c| format!("'{c}'")).collect();
        invalid(format!(
            "Invalid {name}: 1 to {max} letters, digits or {}",
            quoted.join(", ")
        ))
    })
}

pub(crate) fn check_text(name: &str, v: &str, max: usize) -> Result<(), Invalid> {
    if v.chars().any(char::is_control) {
        return Err(invalid(format!(
            "Invalid {name}: control characters are not allowed"
        )));
    }
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
pub fn decode_signature(s: &str) -> Result<Vec<u8>, Invalid> {
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
pub fn check_freshness(timestamp_ms: i64, now_ms: i64, skew_seconds: u32) -> Result<(), Invalid> {
    let skew_ms = i64::from(skew_seconds) * 1000;
    if (timestamp_ms - now_ms).abs() > skew_ms {
        // Both instants, so an operator sees the clock skew at a glance.
        return Err(invalid(format!(
            "Timestamp outside the allowed window of ±{skew_seconds} seconds: the request says {}, the server's time is {}",
            format_rfc3339_ms(timestamp_ms),
            format_rfc3339_ms(now_ms)
        )));
    }
    Ok(())
}

/// The KV key that marks this signature as used (by any signed node request: a
/// signature accepted by one route is refused by the other too).
pub fn nonce_key(signature: &[u8]) -> String {
    format!("register-nonce:{}", hex(&sha256(signature)))
}

/// How long a nonce must live: a signature stays acceptable for the whole window
/// around its timestamp (2 × skew), plus a margin; KV's minimum TTL is 60 s.
pub fn nonce_ttl_seconds(skew_seconds: u32) -> u64 {
    (2 * u64::from(skew_seconds) + 60).max(60)
}

#[cfg(test)]
mod tests;
