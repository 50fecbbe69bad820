//! Uploading an organization key: the body, and the optional proof of possession.
//!
//! Why a proof: public keys are public. Anyone can upload someone else's public key
//! to their own organization before its owner does. Such a copy must never capture the
//! owner's node: the installer's signed message (`ip|region|timestamp`) does not sign
//! the organization, so a copied key would verify the owner's first registration for
//! the copier's organization. A proof — the key's signature over
//! `gatehouse-key-possession-v1\n<organization id>` — shows the uploader holds the
//! private half, for this organization only. Proven keys (and generated ones) verify
//! everything; a proven upload supersedes an unproven copy elsewhere; an unproven key
//! still works for the v1 form naming id_org, and then for the heartbeats of a node it
//! so registered (SECURITY.md, threat model).

use crate::account::{string_field, AccountError};
use crate::crypto::rsa_keys::PublicKey;
use crate::nodes::signed::decode_signature;

pub const POSSESSION_CONTEXT: &str = "gatehouse-key-possession-v1";

/// What the key's private half signs to prove possession for `org_id`.
pub fn possession_message(org_id: &str) -> String {
    format!("{POSSESSION_CONTEXT}\n{org_id}")
}

/// A key upload: the public key, and whether its uploader proved holding the private
/// half.
pub struct Upload {
    pub key: PublicKey,
    pub proven: bool,
}

/// Parses `{"publicKey": PEM, "proof"?: base64}` for organization `org_id`. A proof
/// that is present must verify: a wrong one is an error, never a silent "unproven".
pub fn parse_upload(body: &[u8], org_id: &str) -> Result<Upload, AccountError> {
    let pem = string_field(body, "publicKey")?;
    let key = PublicKey::from_pem(&pem)
        .map_err(|e| AccountError::invalid_input(format!("publicKey: {e}")))?;
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let proven = match value.get("proof") {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::String(proof)) => {
            let signature = decode_signature(proof).map_err(|_| bad_proof(org_id))?;
            if !key.verify(possession_message(org_id).as_bytes(), &signature) {
                return Err(bad_proof(org_id));
            }
            true
        }
        Some(_) => return Err(bad_proof(org_id)),
    };
    Ok(Upload { key, proven })
}

fn bad_proof(org_id: &str) -> AccountError {
    AccountError::invalid_input(format!(
        "proof: expected the base64 RSA-SHA256 signature, by this key's private half, of \
         \"{POSSESSION_CONTEXT}\\n{org_id}\" (printf '{POSSESSION_CONTEXT}\\n{org_id}' | \
         openssl dgst -sha256 -sign key.pem | base64 -w 0)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::rsa_keys::PrivateKey;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use serde_json::json;

    #[test]
    fn a_proof_binds_the_key_to_one_organization() {
        let private = PrivateKey::generate(2048).unwrap();
        let pem = private.public_key().to_spki_pem();
        let proof = STANDARD.encode(private.sign(possession_message("org-a").as_bytes()));
        let body = |proof: serde_json::Value| {
            json!({"publicKey": pem, "proof": proof})
                .to_string()
                .into_bytes()
        };
        assert!(parse_upload(&body(json!(proof)), "org-a").unwrap().proven);
        assert!(!parse_upload(&body(json!(null)), "org-a").unwrap().proven);
        // The same proof for another organization, another key's proof, garbage: refused.
        let elsewhere = parse_upload(&body(json!(proof)), "org-b").err().unwrap();
        assert!(
            elsewhere.message.starts_with("proof:"),
            "{}",
            elsewhere.message
        );
        let other = PrivateKey::generate(2048).unwrap();
        let foreign = STANDARD.encode(other.sign(possession_message("org-a").as_bytes()));
        assert!(parse_upload(&body(json!(foreign)), "org-a").is_err());
        assert!(parse_upload(&body(json!("not base64!")), "org-a").is_err());
        assert!(parse_upload(&body(json!(7)), "org-a").is_err());
        assert_eq!(
            possession_message("org-a"),
            "gatehouse-key-possession-v1\norg-a"
        );
    }
}
