//! What Flashback's node installer (`rollout_node.sh`) does with `POST /secrets`'s
//! answer, for `gatehouse-cli demo`: each `env_<service>_enc` is a JSON string holding
//! `{key, iv, ct, mac}`; the AES key is RSA-OAEP (SHA-256) encrypted to the node's
//! private key, the HMAC-SHA256 over iv || ct is compared as base64 text, then
//! AES-256-CTR decrypts (core::node_env::envelope has the format).

use aes::cipher::{KeyIvInit, StreamCipher};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_core::node_env::envelope::hmac_sha256;
use rsa::pkcs8::DecodePrivateKey;
use serde_json::Value;

/// The file in `answer[env_<service>_enc]`, for the holder of `private_pem`.
pub fn open(answer: &Value, service: &str, private_pem: &str) -> Result<Vec<u8>, String> {
    let field = format!("env_{service}_enc");
    let text = answer[&field]
        .as_str()
        .ok_or(format!("no {field} in the answer"))?;
    let envelope: Value = serde_json::from_str(text).map_err(|e| format!("{field}: {e}"))?;
    let part = |name: &str| {
        envelope[name]
            .as_str()
            .and_then(|b| STANDARD.decode(b).ok())
            .ok_or(format!("{field}.{name}: not base64"))
    };
    let private = rsa::RsaPrivateKey::from_pkcs8_pem(private_pem).map_err(|e| e.to_string())?;
    let key: [u8; 32] = private
        .decrypt(rsa::Oaep::new::<sha2::Sha256>(), &part("key")?)
        .map_err(|e| format!("{field}: RSA-OAEP: {e}"))?
        .try_into()
        .map_err(|_| format!("{field}: the AES key is not 32 bytes"))?;
    let iv: [u8; 16] = part("iv")?
        .try_into()
        .map_err(|_| format!("{field}: iv is not 16 bytes"))?;
    let mut data = part("ct")?;
    if STANDARD.encode(hmac_sha256(&key, &[&iv, &data])) != envelope["mac"].as_str().unwrap_or("") {
        return Err(format!("{field}: HMAC verification failed"));
    }
    ctr::Ctr128BE::<aes::Aes256>::new(&key.into(), &iv.into()).apply_keystream(&mut data);
    Ok(data)
}
