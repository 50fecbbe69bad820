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

    /// Whether `messages()[i]` signs an organization: the v1 form (first) naming
    /// `id_org`. Without one it signs an empty line, binding no organization (the key
    /// that verifies decides it), and the installer's never signs it.
    pub fn signs_org(&self, i: usize) -> bool {
        i == 0 && self.fields.id_org.is_some()
    }

    /// Whether `messages()[i]` signs every field the node's row stores (provider,
    /// status, region, version, services; the organization, or that none was named,
    /// when the key that verifies then decides it): the v1 form does; the installer's
    /// signs only ip, region and timestamp.
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
mod tests;
