//! The installer's envelope: what `POST /secrets` answers as `env_<service>_enc`, a
//! JSON string holding `{"key", "iv", "ct", "mac"}` (standard base64 each):
//!
//! - `key`: a fresh random 32-byte AES key, RSA-OAEP encrypted (SHA-256, MGF1-SHA-256,
//!   no label) to the organization key that signed the request;
//! - `iv`: 16 random bytes, the initial AES-CTR counter block (big-endian, all 128 bits
//!   counting, as `openssl enc -aes-256-ctr` does);
//! - `ct`: the env file under AES-256-CTR with that key and iv;
//! - `mac`: HMAC-SHA256 keyed with the AES key over `iv || ct`.
//!
//! That is exactly what `rollout_node.sh` (flashback_installer 518ba27) undoes with
//! `openssl pkeyutl -decrypt -pkeyopt rsa_padding_mode:oaep -pkeyopt
//! rsa_oaep_md:sha256`, an HMAC it compares as base64 text, then `openssl enc -d
//! -aes-256-ctr -K … -iv … -nosalt`. The e2e test tests/tests/installer_secrets.rs runs
//! those commands; the unit tests here undo it with the `rsa` crate.
//!
//! Only the private key's holder can read it: a request captured and replayed (were the
//! replay checks to miss it) yields nothing readable.
//!
//! RustCrypto (`rsa`'s OAEP, `aes` + `ctr`, `hmac`) rather than WebCrypto: the `rsa`
//! crate is in the bundle already (keys, signing), so this costs 5.6 KiB gzip, and it
//! runs natively in these tests (docs/nodes.md, "Service environments").

use crate::crypto::random_bytes;
use crate::crypto::rsa_keys::PublicKey;
use aes::cipher::{KeyIvInit, StreamCipher};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rsa::Oaep;
use sha2::Sha256;

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

/// Why an envelope could not be made: only the platform's randomness or an RSA failure
/// (a stored key too small for OAEP's overhead cannot be: keys are ≥ 2048 bits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealError(pub &'static str);

/// AES-256-CTR over `data` in place (encrypting and decrypting are the same).
pub(crate) fn aes_ctr(key: &[u8; 32], iv: &[u8; 16], data: &mut [u8]) {
    let mut cipher = Aes256Ctr::new(key.into(), iv.into());
    cipher.apply_keystream(data);
}

/// HMAC-SHA256 of the concatenated `parts` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // Hmac accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The envelope of `plaintext` for the holder of `to`'s private key, as the JSON text
/// the answer carries in a string.
pub fn seal(to: &PublicKey, plaintext: &[u8]) -> Result<String, SealError> {
    let key = random_bytes::<32>().map_err(|_| SealError("no randomness"))?;
    let iv = random_bytes::<16>().map_err(|_| SealError("no randomness"))?;
    let wrapped = to
        .rsa()
        .encrypt(&mut rsa::rand_core::OsRng, Oaep::new::<Sha256>(), &key)
        .map_err(|_| SealError("RSA-OAEP encryption failed"))?;
    let mut ct = plaintext.to_vec();
    aes_ctr(&key, &iv, &mut ct);
    let mac = hmac_sha256(&key, &[&iv, &ct]);
    Ok(serde_json::json!({
        "key": STANDARD.encode(wrapped),
        "iv": STANDARD.encode(iv),
        "ct": STANDARD.encode(&ct),
        "mac": STANDARD.encode(mac),
    })
    .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::rsa_keys::PrivateKey;
    use serde_json::Value;

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
        let mut ct = field("ct");
        // Compared as base64 text, as the installer does.
        assert_eq!(
            STANDARD.encode(hmac_sha256(&key, &[&iv, &ct])),
            v["mac"].as_str().unwrap()
        );
        aes_ctr(&key, &iv, &mut ct);
        ct
    }

    #[test]
    fn the_holder_of_the_private_key_reads_it_back() {
        let private = PrivateKey::generate(2048).unwrap();
        let public = private.public_key();
        let file = b"S3_ACCESS_KEY=AKIA\nS3_SECRET=s3cr3t\n".repeat(40);
        let sealed = seal(&public, &file).unwrap();
        use rsa::pkcs8::DecodePrivateKey;
        let rsa_private = rsa::RsaPrivateKey::from_pkcs8_pem(&private.to_pkcs8_pem()).unwrap();
        assert_eq!(open(&rsa_private, &sealed), file);
        // Fresh key and iv each time: the same file never seals the same way twice.
        let again = seal(&public, &file).unwrap();
        let v = |s: &str, n: &str| serde_json::from_str::<Value>(s).unwrap()[n].clone();
        assert_ne!(v(&sealed, "iv"), v(&again, "iv"));
        assert_ne!(v(&sealed, "ct"), v(&again, "ct"));
        assert_eq!(
            STANDARD
                .decode(v(&sealed, "key").as_str().unwrap())
                .unwrap()
                .len(),
            256
        );
    }

    /// NIST SP 800-38A F.5.5 (CTR-AES256.Encrypt), block 1: the counter layout openssl
    /// uses, so `openssl enc -aes-256-ctr` decrypts what we encrypt.
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
        let mut data = unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
        aes_ctr(&key, &iv, &mut data);
        assert_eq!(
            data,
            unhex("601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5")
        );
    }

    /// RFC 4231 test case 2.
    #[test]
    fn hmac_matches_rfc_4231() {
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            crate::crypto::hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
