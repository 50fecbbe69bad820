//! The installer's envelope: what `POST /secrets` answers as `env_<service>_enc`, a
//! JSON string holding `{"key", "iv", "ct", "mac"}` (standard base64 each):
//!
//! - `key`: a fresh random 32-byte AES key, RSA-OAEP encrypted (SHA-256, MGF1-SHA-256,
//!   no label) to the organization key that signed the request;
//! - `iv`: 16 random bytes, the initial AES-CTR counter block (big-endian, all 128 bits
//!   counting, as `openssl enc -aes-256-ctr` does; WebCrypto's `length: 128`);
//! - `ct`: the env file under AES-256-CTR with that key and iv;
//! - `mac`: HMAC-SHA256 keyed with the AES key over `iv || ct`.
//!
//! That is what `rollout_node.sh` (flashback_installer 518ba27) undoes with `openssl
//! pkeyutl -decrypt -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256`, an
//! HMAC it compares as base64 text, then `openssl enc -d -aes-256-ctr -K … -iv …
//! -nosalt` (tests/tests/installer_secrets.rs runs exactly those commands).
//!
//! The worker does RSA-OAEP and AES-CTR with WebCrypto (`crypto.subtle`, src/webcrypto.rs):
//! the same with RustCrypto crates put the bundle 18 KiB gzip over its budget
//! (docs/nodes.md, "Service environments"). What is pure — fresh material, the MAC,
//! the JSON — is here; the tests below do the two ciphers with RustCrypto to prove
//! the format natively.

use crate::crypto::random_bytes;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// A fresh AES-256 key and CTR iv for one envelope (or one sealed row).
pub struct Fresh {
    pub key: [u8; 32],
    pub iv: [u8; 16],
}

impl Fresh {
    pub fn new() -> Result<Fresh, getrandom::Error> {
        Ok(Fresh {
            key: random_bytes()?,
            iv: random_bytes()?,
        })
    }
}

/// HMAC-SHA256 (RFC 2104) of the concatenated `parts` under `key`, on the `sha2` the
/// bundle already has.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let mut inner = Sha256::new();
    inner.update(pad(0x36));
    for part in parts {
        inner.update(part);
    }
    let mut outer = Sha256::new();
    outer.update(pad(0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// The envelope's JSON text, from the AES key and iv of `fresh`, the key as wrapped
/// to the recipient (RSA-OAEP) and the ciphertext (AES-256-CTR).
pub fn to_json(fresh: &Fresh, wrapped_key: &[u8], ct: &[u8]) -> String {
    let mac = hmac_sha256(&fresh.key, &[&fresh.iv, ct]);
    serde_json::json!({
        "key": STANDARD.encode(wrapped_key),
        "iv": STANDARD.encode(fresh.iv),
        "ct": STANDARD.encode(ct),
        "mac": STANDARD.encode(mac),
    })
    .to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::crypto::rsa_keys::PrivateKey;
    use aes::cipher::{KeyIvInit, StreamCipher};
    use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
    use rsa::Oaep;
    use serde_json::Value;

    /// AES-256-CTR as WebCrypto's `{name: "AES-CTR", length: 128}` and openssl do it.
    pub(crate) fn aes_ctr(key: &[u8; 32], iv: &[u8; 16], data: &[u8]) -> Vec<u8> {
        let mut out = data.to_vec();
        ctr::Ctr128BE::<aes::Aes256>::new(key.into(), iv.into()).apply_keystream(&mut out);
        out
    }

    /// What the worker does (src/routes/nodes/secrets.rs), with RustCrypto for WebCrypto.
    fn seal(spki_der: &[u8], file: &[u8]) -> String {
        let fresh = Fresh::new().unwrap();
        let public = rsa::RsaPublicKey::from_public_key_der(spki_der).unwrap();
        let wrapped = public
            .encrypt(
                &mut rsa::rand_core::OsRng,
                Oaep::new::<Sha256>(),
                &fresh.key,
            )
            .unwrap();
        to_json(&fresh, &wrapped, &aes_ctr(&fresh.key, &fresh.iv, file))
    }

    /// The installer's steps, with the `rsa` crate in place of `openssl pkeyutl`.
    fn open(private: &rsa::RsaPrivateKey, envelope: &str) -> Vec<u8> {
        let v: Value = serde_json::from_str(envelope).unwrap();
        let field = |n: &str| STANDARD.decode(v[n].as_str().unwrap()).unwrap();
        let key: [u8; 32] = private
            .decrypt(Oaep::new::<Sha256>(), &field("key"))
            .unwrap()
            .try_into()
            .unwrap();
        let iv: [u8; 16] = field("iv").try_into().unwrap();
        let ct = field("ct");
        // Compared as base64 text, as the installer does.
        assert_eq!(
            STANDARD.encode(hmac_sha256(&key, &[&iv, &ct])),
            v["mac"].as_str().unwrap()
        );
        aes_ctr(&key, &iv, &ct)
    }

    #[test]
    fn the_holder_of_the_private_key_reads_it_back() {
        let private = PrivateKey::generate(2048).unwrap();
        let spki = private.public_key().to_spki_der();
        let file = b"S3_ACCESS_KEY=AKIA\nS3_SECRET=s3cr3t\n".repeat(40);
        let sealed = seal(&spki, &file);
        let rsa_private = rsa::RsaPrivateKey::from_pkcs8_pem(&private.to_pkcs8_pem()).unwrap();
        assert_eq!(open(&rsa_private, &sealed), file);
        let v = |s: &str, n: &str| serde_json::from_str::<Value>(s).unwrap()[n].clone();
        assert_eq!(
            STANDARD
                .decode(v(&sealed, "key").as_str().unwrap())
                .unwrap()
                .len(),
            256
        );
        // Fresh key and iv each time: the same file never seals the same way twice.
        let again = seal(&spki, &file);
        assert_ne!(v(&sealed, "iv"), v(&again, "iv"));
        assert_ne!(v(&sealed, "ct"), v(&again, "ct"));
    }

    /// NIST SP 800-38A F.5.5 (CTR-AES256.Encrypt), blocks 1-2: the counter layout
    /// openssl uses, which the tests' cipher must share with WebCrypto's.
    #[test]
    fn aes_ctr_matches_the_nist_vector() {
        let unhex = |s: &str| -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        let key: [u8; 32] =
            unhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
                .try_into()
                .unwrap();
        let iv: [u8; 16] = unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
            .try_into()
            .unwrap();
        let data = unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
        assert_eq!(
            aes_ctr(&key, &iv, &data),
            unhex("601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5")
        );
    }

    /// RFC 4231 test cases 2 (short key) and 6 (a key longer than the block).
    #[test]
    fn hmac_matches_rfc_4231() {
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            crate::crypto::hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let long = hmac_sha256(
            &[0xaa; 131],
            &[b"Test Using Larger Than Block-Size Key - Hash Key First"],
        );
        assert_eq!(
            crate::crypto::hex(&long),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
