//! `POST /unregister`: a node removes itself, signed like a registration.
//!
//! Body: `{ip, timestamp, signature, id_org?}` (the client sends a whole
//! RegisterRequest; other fields are ignored). Signed messages:
//!
//! ```text
//! gatehouse-node-unregister-v1
//! <ip>
//! <timestamp>
//! <id_org, or empty>
//! ```
//!
//! Only this form: the installer's `ip|region|timestamp` is what a *registration*
//! signs, so accepting it here would turn any captured heartbeat into a removal. Same
//! freshness and replay rules as /register; only a key of the node's own organization
//! verifies.

use super::signed::{
    decode_signature, invalid, named_org, node_identity, timestamp, Invalid, Timestamp,
};
use serde_json::Value;

pub const SIGNATURE_CONTEXT: &str = "gatehouse-node-unregister-v1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeUnregistration {
    /// As sent (signed so).
    pub ip: String,
    pub node_ip: String,
    pub timestamp: Timestamp,
    pub id_org: Option<String>,
    pub signature: Vec<u8>,
}

impl NodeUnregistration {
    pub fn canonical_message(&self) -> String {
        [
            SIGNATURE_CONTEXT,
            &self.ip,
            &self.timestamp.text,
            self.id_org.as_deref().unwrap_or(""),
        ]
        .join("\n")
    }

    /// The one message this request may have been signed as.
    pub fn messages(&self) -> Vec<String> {
        vec![self.canonical_message()]
    }
}

pub fn parse(body: &[u8]) -> Result<NodeUnregistration, Invalid> {
    let value: Value = serde_json::from_slice(body).map_err(|_| invalid("Invalid JSON body"))?;
    let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
    let (Some(ip), Some(ts), Some(signature)) = (text("ip"), timestamp(&value), text("signature"))
    else {
        return Err(invalid("Missing required fields"));
    };
    let timestamp = ts?;
    if ip.chars().any(char::is_control) {
        return Err(invalid("Invalid ip: control characters are not allowed"));
    }
    let node_ip = node_identity(&ip)?;
    let id_org = named_org(&value)?;
    let signature = decode_signature(&signature)?;
    Ok(NodeUnregistration {
        ip,
        node_ip,
        timestamp,
        id_org,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use serde_json::json;

    #[test]
    fn only_the_unregister_form_never_a_registrations() {
        let sig = STANDARD.encode([7u8; 256]);
        let body = json!({"ip": "::ffff:203.0.113.9", "timestamp": 1_705_314_600, "signature": sig,
                          "region": "eu-central-1", "provider": "AWS", "status": "running", "org_id": "o"});
        let u = parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(u.node_ip, "203.0.113.9");
        assert_eq!(
            u.messages(),
            vec!["gatehouse-node-unregister-v1\n::ffff:203.0.113.9\n1705314600\no".to_owned()],
            "the installer's registration message ip|region|timestamp is not an unregistration"
        );
        let bare =
            json!({"ip": "203.0.113.9", "timestamp": "2024-01-15T10:30:00Z", "signature": sig});
        let u = parse(bare.to_string().as_bytes()).unwrap();
        assert_eq!(
            u.messages(),
            vec!["gatehouse-node-unregister-v1\n203.0.113.9\n2024-01-15T10:30:00Z\n".to_owned()]
        );
    }

    #[test]
    fn required_fields_and_validation() {
        assert_eq!(parse(b"{}").unwrap_err().0, "Missing required fields");
        assert_eq!(parse(b"{").unwrap_err().0, "Invalid JSON body");
        let sig = STANDARD.encode([7u8; 256]);
        let bad_ip = json!({"ip": "127.0.0.1", "timestamp": 1, "signature": sig});
        assert!(parse(bad_ip.to_string().as_bytes())
            .unwrap_err()
            .0
            .starts_with("Invalid ip"));
    }
}
