//! `POST /secrets`: the installer asks for its organization's service environments.
//!
//! Body, as `rollout_node.sh` builds it with `jq -nc`: `{"ip", "region", "timestamp":
//! <Unix seconds, a JSON number>, "signature", "id_org"}`; the signature is
//! RSASSA-PKCS1-v1_5/SHA-256 over `ip|region|timestamp` (the same message as its
//! `/register`), by a key of the named organization. Only this form: the answer is
//! the installer's, and the organization must be named (there is no node row yet to
//! find it by). The legacy spelling `org_id` is accepted as everywhere.
//!
//! Both routes share the KV replay nonce (core::nodes::signed::nonce_key): with
//! `REPLAY_NONCES=kv` (the default), once KV has the nonce a captured `/secrets`
//! request cannot register a node, nor a captured (written) registration fetch secrets.
//! KV is eventually consistent, so that is a first layer. In D1, `/register`'s node
//! write refuses a signature `/secrets` has claimed (store::nodes' `SECRETS_FETCHED`),
//! whatever KV says; `/secrets` does not read `/register`'s state (SECURITY.md,
//! "Known gaps").

use crate::nodes::registration::REGION_PUNCTUATION;
use crate::nodes::signed::{
    check_token, decode_signature, installer_message, invalid, named_org, node_identity, timestamp,
    Invalid, Timestamp,
};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretsRequest {
    /// The node's address in canonical form (logged, never stored).
    pub node_ip: String,
    pub timestamp: Timestamp,
    pub id_org: String,
    pub signature: Vec<u8>,
    /// `ip|region|timestamp`, with ip and timestamp exactly as sent.
    pub message: String,
}

const MISSING: &str = "Missing required fields: ip (a string), region (a string), timestamp \
     (Unix seconds as an integer), signature (a string), id_org (a string)";

pub fn parse(body: &[u8]) -> Result<SecretsRequest, Invalid> {
    let value: Value = serde_json::from_slice(body).map_err(|_| invalid("Invalid JSON body"))?;
    let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
    let (Some(ip), Some(region), Some(ts), Some(signature)) = (
        text("ip"),
        text("region"),
        timestamp(&value),
        text("signature"),
    ) else {
        return Err(invalid(MISSING));
    };
    let timestamp = ts?;
    let id_org = named_org(&value)?.ok_or_else(|| invalid(MISSING))?;
    if ip.chars().any(char::is_control) {
        return Err(invalid("Invalid ip: control characters are not allowed"));
    }
    let node_ip = node_identity(&ip)?;
    check_token("region", &region, 64, REGION_PUNCTUATION)?;
    let message = installer_message(&ip, &region, &timestamp).ok_or_else(|| {
        invalid("Invalid timestamp: POST /secrets is signed over ip|region|timestamp with the timestamp in Unix seconds, a JSON integer")
    })?;
    let signature = decode_signature(&signature)?;
    Ok(SecretsRequest {
        node_ip,
        timestamp,
        id_org,
        signature,
        message,
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
            "ip": "203.0.113.9", "region": "eu-central-1", "timestamp": 1_705_314_600,
            "signature": STANDARD.encode([7u8; 256]), "id_org": "org-1",
        });
        for (k, x) in overrides.as_object().unwrap() {
            if x.is_null() {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = x.clone();
            }
        }
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn the_installer_body_parses_to_its_signed_message() {
        let r = parse(&body(json!({}))).unwrap();
        assert_eq!(r.message, "203.0.113.9|eu-central-1|1705314600");
        assert_eq!(r.id_org, "org-1");
        assert_eq!(r.timestamp.ms, 1_705_314_600_000);
        let legacy = parse(&body(json!({"id_org": null, "org_id": "org-1"}))).unwrap();
        assert_eq!(legacy.id_org, "org-1");
        // The ip is signed as sent, and identifies the node canonically.
        let mapped = parse(&body(json!({"ip": "::ffff:203.0.113.9"}))).unwrap();
        assert_eq!(mapped.message, "::ffff:203.0.113.9|eu-central-1|1705314600");
        assert_eq!(mapped.node_ip, "203.0.113.9");
    }

    #[test]
    fn what_the_installer_form_cannot_be_is_refused_by_name() {
        for (over, says) in [
            (json!({"id_org": null}), "Missing required fields"),
            (json!({"id_org": ""}), "Missing required fields"),
            (json!({"ip": null}), "Missing required fields"),
            (json!({"timestamp": "1705314600"}), "Invalid timestamp"),
            (json!({"timestamp": "2024-01-15T10:30:00Z"}), "Unix seconds"),
            (json!({"timestamp": 1_705_314_600_000i64}), "Unix seconds"),
            (json!({"region": "eu central"}), "Invalid region"),
            (json!({"ip": "127.0.0.1"}), "Invalid ip"),
            (json!({"ip": "1.2.3.4\n"}), "control"),
            (json!({"signature": "AAAA"}), "Invalid signature"),
            (json!({"id_org": 5}), "Invalid id_org"),
        ] {
            let err = parse(&body(over.clone())).unwrap_err().0;
            assert!(err.contains(says), "{over}: {err}");
        }
        assert_eq!(parse(b"[1,2").unwrap_err().0, "Invalid JSON body");
    }
}
