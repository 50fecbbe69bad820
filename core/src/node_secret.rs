//! `POST /register_node_secret`: the request model, as Infera publishes it
//! (docs.infera.org, "Register Node"):
//!
//! ```python
//! class NodeSecretRequest(BaseModel):
//!     node_id: str
//!     secret: str
//! ```
//!
//! Any JSON string is accepted for either field, the empty one included: the 64 KiB
//! body limit is the only size bound. Operators who want limits set them
//! ([`NodeSecretPolicy`], from `NODE_ID_MIN_LENGTH`, `NODE_ID_MAX_LENGTH`,
//! `NODE_SECRET_MIN_LENGTH`, `NODE_SECRET_MAX_LENGTH`), and the answers are then
//! exactly those of the same model with `Field(min_length=…, max_length=…)`.

use crate::fastapi::{self, parse_str_model, pyjson, Rejection, StrField};

/// Length limits, in characters (code points, as Python counts), per field; `None`
/// adds no constraint. The default is Infera's model: none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeSecretPolicy {
    pub node_id_min_length: Option<usize>,
    pub node_id_max_length: Option<usize>,
    pub secret_min_length: Option<usize>,
    pub secret_max_length: Option<usize>,
}

impl NodeSecretPolicy {
    fn fields(&self) -> [StrField; 2] {
        [
            StrField {
                name: "node_id",
                min_length: self.node_id_min_length,
                max_length: self.node_id_max_length,
            },
            StrField {
                name: "secret",
                min_length: self.secret_min_length,
                max_length: self.secret_max_length,
            },
        ]
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct NodeSecretRequest {
    pub node_id: String,
    pub secret: String,
}

impl NodeSecretRequest {
    /// Parses the request exactly as FastAPI would with `policy`'s model, or says what
    /// FastAPI would answer.
    pub fn parse(
        content_type: Option<&str>,
        body: &[u8],
        policy: &NodeSecretPolicy,
    ) -> Result<NodeSecretRequest, Rejection> {
        let mut values = parse_str_model(content_type, body, &policy.fields())?.into_iter();
        match (values.next(), values.next()) {
            (Some(node_id), Some(secret)) => Ok(NodeSecretRequest { node_id, secret }),
            // parse_str_model returns one value per field or an error.
            _ => Err(Rejection::UnparseableBody),
        }
    }
}

/// 200 body: `{"node_id":"…","registered":true}`, serialized as FastAPI does.
pub fn registered_body(node_id: &str) -> String {
    let mut out = String::from("{\"node_id\":");
    pyjson::write_str(&pyjson::PyStr::of(node_id), &mut out);
    out.push_str(",\"registered\":true}");
    out
}

/// 409 body when the node id is taken by a different secret.
pub fn conflict_body() -> String {
    fastapi::detail("Node already registered")
}

/// Wrong secrets one node id may receive per window before the route stops comparing:
/// a 409 tells a guess from the right secret, so without a bound the route is an
/// online guessing oracle for any node id. Honest nodes never send a wrong secret for
/// their own id, so their answers (200 again, or 409 for a taken id) do not change.
pub const MAX_WRONG_SECRETS: i64 = 10;
pub const WRONG_SECRETS_WINDOW_MS: i64 = 60 * 60 * 1000;

/// A node id's wrong-secret count as stored: how many since when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrongSecrets {
    pub count: i64,
    pub since_ms: Option<i64>,
}

impl WrongSecrets {
    /// Seconds until the node id takes guesses again, if it is locked now.
    pub fn locked_for_seconds(&self, now_ms: i64) -> Option<u32> {
        let since = self.since_ms?;
        let ends = since + WRONG_SECRETS_WINDOW_MS;
        (self.count >= MAX_WRONG_SECRETS && now_ms < ends)
            .then(|| ((ends - now_ms + 999) / 1000) as u32)
    }
}

/// 429 body while a node id is locked (FastAPI's HTTPException shape).
pub fn locked_body() -> String {
    fastapi::detail("Too many wrong secrets for this node_id; try again later")
}

/// No room for another node id (`NODE_SECRETS_MAX`, migration 0028): 503 with
/// `Retry-After`, in FastAPI's `HTTPException` shape as the route's other refusals.
/// Registered node ids are still answered; room comes back as the maintenance removes
/// node ids not registered again for `NODE_REMOVE_AFTER_DAYS`.
pub fn full_body() -> String {
    fastapi::detail("Node registrations are full; try again later")
}

/// Whether a new node id may be added: room in the whole (`NODE_SECRETS_MAX`) and in
/// its network's share (`NODE_SECRETS_PER_NETWORK`), from the counts of migrations
/// 0028 and 0029.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Room {
    Open,
    /// No room at all: 503, [`full_body`].
    Full,
    /// No room left for its network: 429, [`network_full_body`].
    NetworkFull,
}

impl Room {
    pub fn of(held: i64, in_network: i64, max: u32, per_network: u32) -> Room {
        if held >= i64::from(max) {
            Room::Full
        } else if in_network >= i64::from(per_network) {
            Room::NetworkFull
        } else {
            Room::Open
        }
    }
}

/// A network that holds `NODE_SECRETS_PER_NETWORK` node ids: 429 with `Retry-After`,
/// as the route's other refusal of a client's pace.
pub fn network_full_body() -> String {
    fastapi::detail("Too many node ids registered from this network; try again later")
}

/// The network a new node id is counted against (`NODE_SECRETS_PER_NETWORK`,
/// migration 0029): an IPv4 client's /24, an IPv6 one's /48 — the units one holder
/// commonly has whole (a host's or a tunnel broker's allocation), so that no one of
/// them fills the bound alone. A 6to4 address (`2002:AABB:CCDD::/48`) counts as the
/// IPv4 address it embeds, whose /24 would otherwise be 256 shares. `None` for an
/// address that does not parse (no `CF-Connecting-IP`: not on Cloudflare's edge),
/// which no network's share counts.
pub fn registering_network(client_ip: &str) -> Option<String> {
    let v4_network = |[a, b, c, _]: [u8; 4]| format!("{a}.{b}.{c}.0/24");
    match client_ip
        .trim()
        .parse::<std::net::IpAddr>()
        .ok()?
        .to_canonical()
    {
        std::net::IpAddr::V4(v4) => Some(v4_network(v4.octets())),
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            if s[0] == 0x2002 {
                let [a, b] = s[1].to_be_bytes();
                let [c, d] = s[2].to_be_bytes();
                return Some(v4_network([a, b, c, d]));
            }
            Some(format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]))
        }
    }
}

/// What `Retry-After` says to a refused new node id: the maintenance runs every ten
/// minutes, but room freed by ids that lapsed is taken again as fast as strangers
/// add them, so an hour rather than a tight loop.
pub const FULL_RETRY_AFTER_SECONDS: u32 = 3600;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_the_whole_first_then_the_networks_share() {
        assert_eq!(Room::of(0, 0, 3, 2), Room::Open);
        assert_eq!(Room::of(2, 1, 3, 2), Room::Open);
        assert_eq!(Room::of(2, 2, 3, 2), Room::NetworkFull);
        assert_eq!(Room::of(3, 0, 3, 2), Room::Full);
        assert_eq!(Room::of(3, 2, 3, 2), Room::Full, "the whole says first");
    }

    #[test]
    fn a_node_id_counts_against_its_24_or_its_48() {
        let network = |ip| registering_network(ip);
        assert_eq!(network("203.0.113.77").as_deref(), Some("203.0.113.0/24"));
        assert_eq!(
            network("::ffff:203.0.113.77").as_deref(),
            Some("203.0.113.0/24")
        );
        assert_eq!(
            network("2001:db8:1:2::9").as_deref(),
            Some("2001:db8:1::/48")
        );
        assert_eq!(network("2001:DB8:1:ffff::1"), network("2001:db8:1::1"));
        // 6to4: the IPv4 address it embeds (203.0.113.77 = cb00:714d), and its /24.
        assert_eq!(
            network("2002:cb00:714d::1").as_deref(),
            Some("203.0.113.0/24")
        );
        assert_eq!(network("2002:cb00:71ff:5::1"), network("203.0.113.255"));
        assert_eq!(network(""), None);
        assert_eq!(network("not an address"), None);
    }

    const JSON: Option<&str> = Some("application/json");
    const INFERA: NodeSecretPolicy = NodeSecretPolicy {
        node_id_min_length: None,
        node_id_max_length: None,
        secret_min_length: None,
        secret_max_length: None,
    };

    #[test]
    fn valid_request_parses_and_ignores_extras() {
        let req = NodeSecretRequest::parse(
            JSON,
            br#"{"node_id":"n1","secret":"0123456789abcdef","x":1}"#,
            &INFERA,
        )
        .unwrap();
        assert_eq!(
            req,
            NodeSecretRequest {
                node_id: "n1".into(),
                secret: "0123456789abcdef".into()
            }
        );
    }

    #[test]
    fn infera_model_has_no_length_limits() {
        assert_eq!(NodeSecretPolicy::default(), INFERA);
        for body in [
            br#"{"node_id":"","secret":""}"#.as_slice(),
            br#"{"node_id":"n","secret":"abc"}"#,
        ] {
            assert!(NodeSecretRequest::parse(JSON, body, &INFERA).is_ok());
        }
    }

    #[test]
    fn a_node_id_locks_after_ten_wrong_secrets_for_an_hour() {
        let at = |count, since_ms| WrongSecrets { count, since_ms };
        let t = 1_000_000_000;
        assert_eq!(at(0, None).locked_for_seconds(t), None);
        assert_eq!(at(9, Some(t)).locked_for_seconds(t), None);
        assert_eq!(at(10, Some(t)).locked_for_seconds(t), Some(3600));
        assert_eq!(at(10, Some(t)).locked_for_seconds(t + 3_599_001), Some(1));
        assert_eq!(at(10, Some(t)).locked_for_seconds(t + 3_600_000), None);
        assert_eq!(
            locked_body(),
            r#"{"detail":"Too many wrong secrets for this node_id; try again later"}"#
        );
    }

    #[test]
    fn bodies_match_fastapi() {
        assert_eq!(
            registered_body("n\"1é"),
            r#"{"node_id":"n\"1é","registered":true}"#
        );
        assert_eq!(conflict_body(), r#"{"detail":"Node already registered"}"#);
        let constrained = NodeSecretPolicy {
            node_id_min_length: Some(1),
            node_id_max_length: Some(128),
            secret_min_length: Some(16),
            secret_max_length: Some(512),
        };
        let rejection =
            NodeSecretRequest::parse(JSON, br#"{"node_id":"","secret":"abc"}"#, &constrained)
                .unwrap_err();
        assert_eq!(rejection.status(), 422);
        assert_eq!(
            rejection.body(),
            r#"{"detail":[{"type":"string_too_short","loc":["body","node_id"],"msg":"String should have at least 1 character","input":"","ctx":{"min_length":1}},{"type":"string_too_short","loc":["body","secret"],"msg":"String should have at least 16 characters","input":"abc","ctx":{"min_length":16}}]}"#
        );
    }
}
