//! What a bridge node does: make its key pair, and sign its requests to POST /register
//! and POST /unregister.
//!
//! The messages come from gatehouse-core (`SignedFields::canonical_message`,
//! `NodeUnregistration::canonical_message`) and a signed body is checked by the
//! worker's own parser before it is printed or sent, so the CLI and the worker cannot
//! disagree on what is signed or what is valid; only freshness, replay and the keys
//! are left to the worker.

use crate::args::{NodeFields, SignedExtras};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_core::nodes::registration::{self, SignedFields};
use gatehouse_core::nodes::signed::{self, node_identity, Invalid, Timestamp};
use gatehouse_core::nodes::unregistration::{self, NodeUnregistration};
use gatehouse_core::time::format_rfc3339_ms;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// A timestamp as it is sent (a JSON string or integer) and as the worker reads it.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub json: Value,
    pub parsed: Timestamp,
}

/// `--timestamp`: digits are Unix seconds or milliseconds and go out as a JSON integer
/// (a string of digits is not a timestamp to the worker); anything else must be RFC
/// 3339. Read by the worker's own function, so what passes here passes there.
pub fn parse_stamp(text: &str) -> Result<Stamp, String> {
    let json = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = text
            .parse()
            .map_err(|_| "too large for a Unix time in seconds or milliseconds".to_owned())?;
        Value::from(n)
    } else {
        Value::String(text.to_owned())
    };
    match signed::timestamp(&json!({ "timestamp": json })) {
        Some(Ok(parsed)) => Ok(Stamp { json, parsed }),
        Some(Err(Invalid(message))) => Err(message),
        None => Err("expected RFC 3339 or Unix seconds or milliseconds".to_owned()),
    }
}

fn now() -> Result<Stamp, String> {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis() as i64;
    parse_stamp(&format_rfc3339_ms(ms))
}

/// Generates a key pair into `<out>.key.pem` (0600, never overwritten) and
/// `<out>.pub.pem`.
pub fn write_key_pair(out: &str, bits: usize) -> Result<(String, String), String> {
    let key = PrivateKey::generate(bits).map_err(|e| e.to_string())?;
    let private_path = format!("{out}.key.pem");
    let public_path = format!("{out}.pub.pem");
    write_private(&private_path, &key.to_pkcs8_pem())?;
    std::fs::write(&public_path, key.public_key().to_spki_pem())
        .map_err(|e| format!("{public_path}: {e}"))?;
    Ok((private_path, public_path))
}

fn write_private(path: &str, pem: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{path}: {e}"))?;
    file.write_all(pem.as_bytes())
        .map_err(|e| format!("{path}: {e}"))
}

/// The node's private key. A public key here is the common mix-up (both halves are
/// `.pem`), so it gets its own answer saying which half is needed and why.
pub fn private_key(path: &Path) -> Result<PrivateKey, String> {
    let shown = path.display();
    let pem = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
    if pem.contains("PUBLIC KEY-----") {
        return Err(format!(
            "{shown} is a public key, but --key needs the node's private key (NAME.key.pem \
             from `gatehouse-cli keygen`): the node signs with the private half and the \
             worker verifies with the public half uploaded to the organization"
        ));
    }
    PrivateKey::from_pem(&pem).map_err(|_| {
        format!("{shown}: expected a PEM RSA private key (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY), as keygen writes NAME.key.pem")
    })
}

/// A public key to upload. The private half is refused: it never leaves the node.
pub fn public_key_pem(path: &Path) -> Result<String, String> {
    let shown = path.display();
    let pem = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
    if pem.contains("PRIVATE KEY-----") {
        return Err(format!(
            "{shown} is a private key, but --public-key needs the public half (NAME.pub.pem \
             from `gatehouse-cli keygen`): the private key stays on the node, the \
             organization only needs the half that verifies"
        ));
    }
    gatehouse_core::crypto::rsa_keys::PublicKey::from_pem(&pem)
        .map_err(|e| format!("{shown}: {e}"))?;
    Ok(pem)
}

fn stamp_or_now(extras: &SignedExtras) -> Result<Stamp, String> {
    extras.timestamp.clone().map_or_else(now, Ok)
}

/// The signed JSON body of POST /register, checked by the worker's parser.
pub fn register_body(key: &PrivateKey, fields: &NodeFields) -> Result<Value, String> {
    let stamp = stamp_or_now(&fields.signed)?;
    let signed = SignedFields {
        provider: fields.provider.clone(),
        ip: fields.ip.clone(),
        status: fields.status.clone(),
        region: fields.region.clone(),
        version: fields.version.clone(),
        timestamp: stamp.parsed.text.clone(),
        id_org: fields.signed.id_org.clone(),
        node_services: fields.node_services,
    };
    let signature = STANDARD.encode(key.sign(signed.canonical_message().as_bytes()));
    let mut body = json!({
        "provider": signed.provider, "ip": signed.ip, "status": signed.status,
        "region": signed.region, "version": signed.version, "timestamp": stamp.json,
        "signature": signature,
    });
    if let Some(org) = signed.id_org {
        body["id_org"] = Value::String(org);
    }
    if let Some(services) = signed.node_services {
        body["nodeServices"] = Value::from(services);
    }
    checked(body, |bytes| registration::parse(bytes).map(drop))
}

/// The signed JSON body of POST /unregister, checked by the worker's parser.
pub fn unregister_body(key: &PrivateKey, ip: &str, extras: &SignedExtras) -> Result<Value, String> {
    let stamp = stamp_or_now(extras)?;
    let request = NodeUnregistration {
        ip: ip.to_owned(),
        node_ip: node_identity(ip).map_err(|Invalid(m)| m)?,
        timestamp: stamp.parsed,
        id_org: extras.id_org.clone(),
        signature: Vec::new(),
    };
    let signature = STANDARD.encode(key.sign(request.canonical_message().as_bytes()));
    let mut body = json!({"ip": ip, "timestamp": stamp.json, "signature": signature});
    if let Some(org) = &request.id_org {
        body["id_org"] = Value::String(org.clone());
    }
    checked(body, |bytes| unregistration::parse(bytes).map(drop))
}

/// `body` if the worker's `parse` accepts it; else the worker's own message.
fn checked(body: Value, parse: impl Fn(&[u8]) -> Result<(), Invalid>) -> Result<Value, String> {
    match parse(body.to_string().as_bytes()) {
        Ok(()) => Ok(body),
        Err(Invalid(message)) => Err(format!("the worker would refuse this: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_sent_as_an_integer_and_text_as_rfc3339() {
        let seconds = parse_stamp("1700000000").unwrap();
        assert_eq!(seconds.json, json!(1_700_000_000));
        assert_eq!(seconds.parsed.text, "1700000000");
        assert!(seconds.parsed.unix_seconds);
        let ms = parse_stamp("1700000000123").unwrap();
        assert_eq!(ms.parsed.ms, 1_700_000_000_123);
        let text = parse_stamp("2024-01-15T10:30:00.000Z").unwrap();
        assert_eq!(text.json, json!("2024-01-15T10:30:00.000Z"));
        // Leading zeros are not what the worker would sign: the integer's own digits are.
        assert_eq!(parse_stamp("017").unwrap().parsed.text, "17");
        for bad in ["yesterday", "", "-5", "1.5", "99999999999999999999"] {
            assert!(parse_stamp(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_body_the_worker_would_refuse_is_not_made() {
        let key = PrivateKey::generate(2048).unwrap();
        let extras = SignedExtras {
            id_org: None,
            timestamp: None,
        };
        let err = unregister_body(&key, "127.0.0.1", &extras).unwrap_err();
        assert!(err.starts_with("Invalid ip"), "{err}");
        let body = unregister_body(&key, "203.0.113.7", &extras).unwrap();
        assert!(body["timestamp"].is_string());
        let mut fields = NodeFields {
            provider: "S3".into(),
            ip: "203.0.113.7".into(),
            status: "act ive".into(),
            region: "eu-west-1".into(),
            version: "1".into(),
            signed: extras,
            node_services: Some(5),
        };
        let err = register_body(&key, &fields).unwrap_err();
        assert!(err.contains("Invalid status"), "{err}");
        fields.status = "active".into();
        assert_eq!(register_body(&key, &fields).unwrap()["nodeServices"], 5);
    }
}
