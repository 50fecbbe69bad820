//! `POST /register`: a bridge node's signed registration, in the three forms real
//! callers send (docs/nodes.md, "POST /register").
//!
//! 1. gatehouse v1 (the seed's; recommended): the UTF-8 of these lines joined by
//!    `\n`, no trailing newline, every field exactly as sent:
//!
//!    ```text
//!    gatehouse-node-register-v1
//!    <provider>
//!    <ip>
//!    <status>
//!    <region>
//!    <version>
//!    <timestamp>
//!    <id_org, or empty>
//!    <nodeServices>          only when nodeServices is sent
//!    ```
//!
//!    The timestamp is an RFC 3339 string, or (the Flashback client) a JSON integer of
//!    Unix seconds or milliseconds, signed as its decimal digits.
//! 2. The same with an integer timestamp and `nodeServices`: the client's form.
//! 3. The installer's: `ip|region|timestamp` with the timestamp in Unix seconds;
//!    provider, status, version, nodeServices and id_org are not signed in this form.
//!
//! A field containing a control character is refused, so a `\n` can never move a
//! value into another line, and `|` cannot occur in an address or a timestamp.

use super::signed::{
    check_token, decode_signature, installer_message, invalid, named_org, node_identity, timestamp,
    Invalid, Timestamp,
};
use serde_json::Value;

pub const SIGNATURE_CONTEXT: &str = "gatehouse-node-register-v1";

/// Providers as stored, and the names callers send for them: the seed's S3, GCS and
/// AZURE, and the installer's upper-cased cloud names AWS and GCP.
const PROVIDERS: [(&str, &str); 6] = [
    ("", UNKNOWN_PROVIDER),
    ("S3", "S3"),
    ("GCS", "GCS"),
    ("AZURE", "AZURE"),
    ("AWS", "S3"),
    ("GCP", "GCS"),
];

/// What `status`, `region` and `version` may hold besides ASCII letters and digits
/// (signed::check_token): enough for `running`, `eu-central-1`, `europe-west1`,
/// `1.4.2-rc.1+build.7`.
pub const STATUS_PUNCTUATION: &str = "-_";
pub const REGION_PUNCTUATION: &str = "-_.";
pub const VERSION_PUNCTUATION: &str = "-_.+";

/// Stored for a node that sent no provider (it serves S3, GCS and Azure Blob alike).
pub const UNKNOWN_PROVIDER: &str = "UNKNOWN";
const INVALID_PROVIDER: &str =
    "Invalid provider: expected one of S3, GCS, AZURE (or AWS, GCP), or none at all";

/// The required fields in the order they are named, and what each must be.
const REQUIRED: [(&str, &str); 6] = [
    ("ip", "a string"),
    ("status", "a string"),
    ("region", "a string"),
    ("version", "a string"),
    ("timestamp", "RFC 3339 text or an integer"),
    ("signature", "a string"),
];

/// "Missing required fields: …", naming each absent or mistyped one and what it must be.
fn missing_fields(value: &Value) -> Invalid {
    let named: Vec<String> = REQUIRED
        .iter()
        .filter(|(name, _)| {
            let field = value.get(*name);
            match *name {
                "timestamp" => !matches!(field, Some(Value::String(_) | Value::Number(_))),
                _ => !matches!(field, Some(Value::String(_))),
            }
        })
        .map(|(name, kind)| format!("{name} ({kind})"))
        .collect();
    invalid(format!("Missing required fields: {}", named.join(", ")))
}

/// Service bitmask (Flashback's ServiceFlag): 1 storage, 2 AI LLM, 4 chat. A node that
/// does not say is a storage bridge.
pub const DEFAULT_NODE_SERVICES: u32 = 1;
/// Largest bitmask accepted: the JavaScript client's bit operations are 32-bit.
pub const MAX_NODE_SERVICES: u32 = i32::MAX as u32;

/// The fields as sent; the message forms sign exactly these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedFields {
    pub provider: String,
    pub ip: String,
    pub status: String,
    pub region: String,
    pub version: String,
    /// RFC 3339 text, or an integer's decimal digits.
    pub timestamp: String,
    pub id_org: Option<String>,
    pub node_services: Option<u32>,
}

impl SignedFields {
    /// The gatehouse v1 message.
    pub fn canonical_message(&self) -> String {
        let mut lines = [
            SIGNATURE_CONTEXT,
            &self.provider,
            &self.ip,
            &self.status,
            &self.region,
            &self.version,
            &self.timestamp,
            self.id_org.as_deref().unwrap_or(""),
        ]
        .join("\n");
        if let Some(services) = self.node_services {
            lines.push('\n');
            lines.push_str(&services.to_string());
        }
        lines
    }
}

/// A request that passed every check that needs no storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRegistration {
    pub fields: SignedFields,
    /// The provider as stored (`AWS` is `S3`, `GCP` is `GCS`).
    pub provider: &'static str,
    /// The node's identity: `ip` in canonical form (core::nodes::signed::node_identity).
    pub node_ip: String,
    pub timestamp: Timestamp,
    pub node_services: u32,
    pub signature: Vec<u8>,
}

impl NodeRegistration {
    /// Every message this request may have been signed as: the v1 message, and the
    /// installer's when the timestamp is in Unix seconds. One RSA operation per key
    /// checks all of them (rsa_verify::verify_any).
    pub fn messages(&self) -> Vec<String> {
        let f = &self.fields;
        let mut messages = vec![f.canonical_message()];
        messages.extend(installer_message(&f.ip, &f.region, &self.timestamp));
        messages
    }

    /// Whether `messages()[i]` signs the organization the request names: the v1 form
    /// (first) does, the installer's does not.
    pub fn signs_org(&self, i: usize) -> bool {
        i == 0
    }

    /// Whether `messages()[i]` signs every field the node's row stores (provider,
    /// status, region, version, services, organization): the v1 form does; the
    /// installer's signs only ip, region and timestamp.
    pub fn signs_every_field(&self, i: usize) -> bool {
        i == 0
    }
}

/// Parses and checks a request body (not the signature itself, and not freshness).
pub fn parse(body: &[u8]) -> Result<NodeRegistration, Invalid> {
    let value: Value = serde_json::from_slice(body).map_err(|_| invalid("Invalid JSON body"))?;
    let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
    let (Some(ip), Some(status), Some(region), Some(version), Some(ts), Some(signature)) = (
        text("ip"),
        text("status"),
        text("region"),
        text("version"),
        timestamp(&value),
        text("signature"),
    ) else {
        return Err(missing_fields(&value));
    };
    let timestamp = ts?;
    // The installer run without -p leaves `provider` out: such a node serves all three
    // APIs. It signs the empty string in the v1 form (the installer's form does not
    // sign it at all).
    let provider = match value.get("provider") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(p)) if !p.is_empty() => p.clone(),
        Some(_) => return Err(invalid(INVALID_PROVIDER)),
    };
    let id_org = named_org(&value)?;
    let node_services = match value.get("nodeServices") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|&n| n <= MAX_NODE_SERVICES)
                .ok_or_else(|| {
                    invalid("Invalid nodeServices: expected an integer bitmask (1 storage, 2 AI LLM, 4 chat)")
                })?,
        ),
    };
    for (name, v) in [("provider", &provider), ("ip", &ip)] {
        if v.chars().any(char::is_control) {
            return Err(invalid(format!(
                "Invalid {name}: control characters are not allowed"
            )));
        }
    }
    let stored_provider = PROVIDERS
        .iter()
        .find(|(sent, _)| *sent == provider)
        .map(|(_, stored)| *stored)
        .ok_or_else(|| invalid(INVALID_PROVIDER))?;
    let node_ip = node_identity(&ip)?;
    check_token("status", &status, 32, STATUS_PUNCTUATION)?;
    check_token("region", &region, 64, REGION_PUNCTUATION)?;
    check_token("version", &version, 64, VERSION_PUNCTUATION)?;
    let signature = decode_signature(&signature)?;
    Ok(NodeRegistration {
        fields: SignedFields {
            provider,
            ip,
            status,
            region,
            version,
            timestamp: timestamp.text.clone(),
            id_org,
            node_services,
        },
        provider: stored_provider,
        node_ip,
        timestamp,
        node_services: node_services.unwrap_or(DEFAULT_NODE_SERVICES),
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
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
        assert_eq!(
            reg.messages().len(),
            1,
            "no installer form for an RFC 3339 timestamp"
        );
        let with_org = parse(&body(json!({"id_org": "org-1"}))).unwrap();
        assert!(with_org.fields.canonical_message().ends_with("\norg-1"));
    }

    #[test]
    fn the_clients_form_signs_integer_digits_and_a_ninth_line() {
        let reg = parse(&body(
            json!({"timestamp": 1_705_314_600_123i64, "nodeServices": 5}),
        ))
        .unwrap();
        assert_eq!(
            reg.fields.canonical_message(),
            "gatehouse-node-register-v1\nS3\n203.0.113.7\nactive\neu-west-1\n1.4.2\n1705314600123\n\n5"
        );
        assert_eq!(reg.timestamp.ms, 1_705_314_600_123);
        assert_eq!(reg.node_services, 5);
        assert_eq!(
            reg.messages().len(),
            1,
            "milliseconds: not the installer's form"
        );
        assert_eq!(
            parse(&body(json!({}))).unwrap().node_services,
            DEFAULT_NODE_SERVICES
        );
        for bad in [json!(-1), json!(1.5), json!("1"), json!(1u64 << 40)] {
            assert!(message_of(json!({ "nodeServices": bad })).starts_with("Invalid nodeServices"));
        }
    }

    #[test]
    fn the_installers_form() {
        let reg = parse(&body(json!({
            "provider": "AWS", "status": "running", "region": "eu-central-1",
            "timestamp": 1_705_314_600, "org_id": "org-9"
        })))
        .unwrap();
        assert_eq!(reg.provider, "S3");
        assert_eq!(reg.fields.id_org.as_deref(), Some("org-9"));
        assert_eq!(reg.timestamp.ms, 1_705_314_600_000);
        assert_eq!(reg.messages()[1], "203.0.113.7|eu-central-1|1705314600");
        // The v1 message signs every stored field; the installer's leaves status,
        // version, provider and services out, so it never goes unwritten.
        for field in ["AWS", "running", "eu-central-1"] {
            assert!(reg.messages()[0].contains(field), "{field}");
        }
        assert!(reg.signs_every_field(0) && reg.signs_org(0));
        assert!(!reg.signs_every_field(1) && !reg.signs_org(1));
        assert!(!reg.messages()[1].contains("running"));
        assert_eq!(
            parse(&body(json!({"provider": "GCP"}))).unwrap().provider,
            "GCS"
        );
        assert_eq!(
            parse(&body(json!({"provider": "AZURE"}))).unwrap().provider,
            "AZURE"
        );
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
            "ip",
            "status",
            "region",
            "version",
            "timestamp",
            "signature",
        ] {
            for missing in [json!(null), json!(true)] {
                let message = message_of(json!({ field: missing }));
                assert!(
                    message.starts_with(&format!("Missing required fields: {field} (")),
                    "{field} {missing}: {message}"
                );
            }
        }
        assert_eq!(
            parse(b"[]").unwrap_err().0,
            "Missing required fields: ip (a string), status (a string), region (a string), \
             version (a string), timestamp (RFC 3339 text or an integer), signature (a string)"
        );
        assert_eq!(parse(b"{").unwrap_err().0, "Invalid JSON body");
    }

    #[test]
    fn a_node_without_a_provider_serves_all_three() {
        let reg = parse(&body(json!({"provider": null, "timestamp": 1_705_314_600}))).unwrap();
        assert_eq!(reg.provider, UNKNOWN_PROVIDER);
        assert!(reg
            .fields
            .canonical_message()
            .starts_with("gatehouse-node-register-v1\n\n203.0.113.7\n"));
        assert_eq!(reg.messages()[1], "203.0.113.7|eu-west-1|1705314600");
        assert!(message_of(json!({"provider": 7})).starts_with("Invalid provider"));
        assert!(message_of(json!({"provider": ""})).starts_with("Invalid provider"));
    }

    #[test]
    fn each_field_is_validated() {
        assert!(message_of(json!({"provider": "s3"})).starts_with("Invalid provider"));
        assert!(message_of(json!({"provider": "DROPBOX"})).starts_with("Invalid provider"));
        assert!(message_of(json!({"ip": "300.1.1.1"})).starts_with("Invalid ip"));
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
        for status in [
            "active",
            "inactive",
            "ONLINE",
            "OFFLINE",
            "DISCONNECTED",
            "running",
        ] {
            assert!(
                parse(&body(json!({ "status": status }))).is_ok(),
                "{status}"
            );
        }
    }

    /// Published fields hold what real nodes send, and nothing a reader of the
    /// directory could take for markup, a lookup or a change of direction.
    #[test]
    fn published_fields_are_words_of_a_safe_alphabet() {
        for (field, good) in [
            ("region", "eu-central-1"),
            ("region", "europe-west1"),
            ("region", "us_east.2"),
            ("version", "0.0.28"),
            ("version", "1.4.2-rc.1+build.7"),
            ("status", "running"),
        ] {
            assert!(
                parse(&body(json!({ field: good }))).is_ok(),
                "{field} {good}"
            );
        }
        for field in ["region", "version", "status"] {
            for bad in [
                "<img src=x onerror=alert(1)>",
                "${jndi:ldap://x/a}",
                "eu\u{202e}1",
                "eu central",
                "région",
                "a/b",
                "",
            ] {
                assert!(
                    message_of(json!({ field: bad }))
                        .starts_with(&format!("Invalid {field}: 1 to")),
                    "{field} {bad:?}"
                );
            }
        }
        assert!(message_of(json!({"region": "r".repeat(65)})).starts_with("Invalid region"));
        assert!(message_of(json!({"version": "1.0+x".repeat(13)})).starts_with("Invalid version"));
    }

    #[test]
    fn control_characters_cannot_shift_lines() {
        assert!(message_of(json!({"region": "eu\nS3"})).starts_with("Invalid region"));
        assert!(message_of(json!({"id_org": "a\u{0}"})).contains("control characters"));
        assert!(message_of(json!({"timestamp": "2024\n"})).contains("control characters"));
    }
}
