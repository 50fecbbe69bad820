//! Organization RSA keys: parsing public keys from PEM and checking
//! RSASSA-PKCS1-v1_5/SHA-256 signatures (what `openssl dgst -sha256 -sign` and Node's
//! `crypto.sign('sha256', …)` produce). `rsa` parses and signs; verification runs on
//! our own Montgomery arithmetic (crate::crypto::rsa_verify, for speed in wasm).

use crate::crypto::rsa_verify::Verifier;
use rsa::pkcs1::{DecodeRsaPublicKey, EncodeRsaPublicKey};
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};

pub const MIN_BITS: usize = 2048;
pub const MAX_BITS: usize = 4096;
/// The only public exponent accepted (F4, what every RSA tool generates by default).
/// Verification costs one modular squaring per exponent bit: an uploaded key with a
/// 33-bit exponent would make every /register that tries it ~2x dearer, for nothing.
pub const PUBLIC_EXPONENT: u32 = 65_537;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// Not a PEM `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY` (PKCS#1) holding an RSA key.
    Malformed,
    /// An RSA key outside 2048–4096 bits.
    UnsupportedSize(usize),
    /// A public exponent other than [`PUBLIC_EXPONENT`].
    UnsupportedExponent,
    /// Something people mistake for a public key, recognised so the answer says what
    /// it is and what to send instead (a private key above all: never upload it).
    WrongKind(WrongKind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrongKind {
    PrivateKey,
    Certificate,
    OpenSshRsa,
    NotRsa,
}

/// What `text` is, when it is one of the things people upload instead of a PEM RSA
/// public key.
fn wrong_kind(text: &str) -> Option<WrongKind> {
    let text = text.trim_start();
    if text.starts_with("-----BEGIN") && text.lines().next()?.contains("PRIVATE KEY") {
        return Some(WrongKind::PrivateKey);
    }
    if text.starts_with("-----BEGIN CERTIFICATE") {
        return Some(WrongKind::Certificate);
    }
    if text.starts_with("ssh-rsa ") {
        return Some(WrongKind::OpenSshRsa);
    }
    let other_ssh = ["ssh-ed25519 ", "ssh-dss ", "ecdsa-sha2-", "sk-"];
    if other_ssh.iter().any(|p| text.starts_with(p)) || text.starts_with("-----BEGIN EC ") {
        return Some(WrongKind::NotRsa);
    }
    None
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::Malformed => f.write_str(
                "expected a PEM RSA public key (BEGIN PUBLIC KEY or BEGIN RSA PUBLIC KEY)",
            ),
            KeyError::UnsupportedSize(bits) => {
                write!(
                    f,
                    "RSA keys must have {MIN_BITS} to {MAX_BITS} bits, this one has {bits}"
                )
            }
            KeyError::UnsupportedExponent => {
                write!(f, "RSA keys must use the public exponent {PUBLIC_EXPONENT}")
            }
            KeyError::WrongKind(WrongKind::PrivateKey) => f.write_str(
                "this is a PRIVATE key: never upload it, and treat it as exposed if it left the \
                 node; upload its public half instead (openssl pkey -in key.pem -pubout)",
            ),
            KeyError::WrongKind(WrongKind::Certificate) => f.write_str(
                "this is an X.509 certificate, not a public key; extract its key with \
                 openssl x509 -in cert.pem -pubkey -noout",
            ),
            KeyError::WrongKind(WrongKind::OpenSshRsa) => f.write_str(
                "this is an OpenSSH public key; convert it to PEM with \
                 ssh-keygen -e -m PKCS8 -f key.pub",
            ),
            KeyError::WrongKind(WrongKind::NotRsa) => f.write_str(
                "this is not an RSA key (ed25519, ECDSA and DSA are not supported): nodes sign \
                 with RSA 2048-4096 (openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048)",
            ),
        }
    }
}

/// Whether `pem` is a well-formed SPKI public key of another algorithm (ed25519, EC).
fn spki_of_another_algorithm(pem: &str) -> bool {
    use rsa::pkcs8::der::Document;
    use rsa::pkcs8::spki::SubjectPublicKeyInfoRef;
    Document::from_pem(pem).is_ok_and(|(label, doc)| {
        label == "PUBLIC KEY" && doc.decode_msg::<SubjectPublicKeyInfoRef<'_>>().is_ok()
    })
}

/// A parsed organization public key, ready to verify with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: RsaPublicKey,
    verifier: Verifier,
}

impl PublicKey {
    /// Accepts SPKI (`BEGIN PUBLIC KEY`) and PKCS#1 (`BEGIN RSA PUBLIC KEY`) PEM.
    pub fn from_pem(pem: &str) -> Result<PublicKey, KeyError> {
        let pem = pem.trim();
        if let Some(kind) = wrong_kind(pem) {
            return Err(KeyError::WrongKind(kind));
        }
        let key = RsaPublicKey::from_public_key_pem(pem)
            .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
            .map_err(|_| {
                // A well-formed SPKI of another algorithm (ed25519, EC).
                if spki_of_another_algorithm(pem) {
                    KeyError::WrongKind(WrongKind::NotRsa)
                } else {
                    KeyError::Malformed
                }
            })?;
        let bits = key.size() * 8;
        if !(MIN_BITS..=MAX_BITS).contains(&bits) {
            return Err(KeyError::UnsupportedSize(bits));
        }
        if key.e() != &rsa::BigUint::from(PUBLIC_EXPONENT) {
            return Err(KeyError::UnsupportedExponent);
        }
        PublicKey::new(key)
    }

    /// Refuses what no RSA key has (an even modulus) rather than failing every verify.
    fn new(key: RsaPublicKey) -> Result<PublicKey, KeyError> {
        let verifier = Verifier::new(&key.n().to_bytes_be(), &key.e().to_bytes_be())
            .ok_or(KeyError::Malformed)?;
        Ok(PublicKey { key, verifier })
    }

    pub fn bits(&self) -> usize {
        self.key.size() * 8
    }

    /// The key as SPKI DER: what WebCrypto's `importKey("spki", …)` takes to encrypt
    /// to it (node_env::envelope).
    pub fn to_spki_der(&self) -> Vec<u8> {
        use rsa::pkcs8::EncodePublicKey;
        self.key
            .to_public_key_der()
            .map(|d| d.into_vec())
            .unwrap_or_default()
    }

    /// The key as SPKI PEM, the one form we store.
    pub fn to_spki_pem(&self) -> String {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }

    pub fn to_pkcs1_pem(&self) -> String {
        self.key.to_pkcs1_pem(LineEnding::LF).unwrap_or_default()
    }

    /// Whether `signature` is a valid RSASSA-PKCS1-v1_5 SHA-256 signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verify_any(&[message], signature).is_some()
    }

    /// Which of `messages` `signature` signs, for one RSA operation (see
    /// [`Verifier::verify_any`]).
    pub fn verify_any(&self, messages: &[&[u8]], signature: &[u8]) -> Option<usize> {
        VERIFICATIONS.with(|n| n.set(n.get() + 1));
        self.verifier.verify_any(messages, signature)
    }
}

thread_local! {
    static VERIFICATIONS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// RSA verifications on this thread since the last call (per request through
/// [`crate::crypto::work::counted`]): what an unauthenticated /register can make the
/// worker compute, which tests hold to its bound (core::nodes::signed::MAX_CANDIDATE_KEYS).
pub(crate) fn take_verifications() -> u32 {
    VERIFICATIONS.with(|n| n.replace(0))
}

thread_local! {
    static GENERATIONS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// RSA key pairs generated on this thread since the last call (per request through
/// [`crate::crypto::work::counted`]): 0.5–4 s of CPU each, which tests hold to happen
/// only after the caller's role, quota and pace are checked.
pub(crate) fn take_generations() -> u32 {
    GENERATIONS.with(|n| n.replace(0))
}

/// A private key, for the operator CLI and tests (the worker never holds one).
pub struct PrivateKey(RsaPrivateKey);

impl PrivateKey {
    pub fn generate(bits: usize) -> Result<PrivateKey, KeyError> {
        if !(MIN_BITS..=MAX_BITS).contains(&bits) {
            return Err(KeyError::UnsupportedSize(bits));
        }
        GENERATIONS.with(|n| n.set(n.get() + 1));
        let mut rng = rsa::rand_core::OsRng;
        RsaPrivateKey::new(&mut rng, bits)
            .map(PrivateKey)
            .map_err(|_| KeyError::Malformed)
    }

    /// PKCS#8 PEM (`BEGIN PRIVATE KEY`), as `openssl genpkey` writes it.
    pub fn from_pem(pem: &str) -> Result<PrivateKey, KeyError> {
        let key = RsaPrivateKey::from_pkcs8_pem(pem.trim())
            .or_else(|_| rsa::pkcs1::DecodeRsaPrivateKey::from_pkcs1_pem(pem.trim()))
            .map_err(|_| KeyError::Malformed)?;
        Ok(PrivateKey(key))
    }

    pub fn to_pkcs8_pem(&self) -> String {
        self.0
            .to_pkcs8_pem(LineEnding::LF)
            .map(|s| s.to_string())
            .unwrap_or_default()
    }

    pub fn public_key(&self) -> PublicKey {
        // A key generated or parsed by `rsa` has an odd modulus and a small exponent.
        PublicKey::new(self.0.to_public_key()).expect("an RSA private key's public half")
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let digest = Sha256::digest(message);
        // Signing with a valid private key and a fixed-size digest cannot fail.
        self.0
            .sign(Pkcs1v15Sign::new::<Sha256>(), &digest)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What people paste instead of a public key is named, with what to send instead.
    #[test]
    fn private_keys_certificates_and_other_kinds_are_recognised() {
        let private = PrivateKey::generate(2048).unwrap();
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let pkcs1 = private.0.to_pkcs1_pem(LineEnding::LF).unwrap().to_string();
        let openssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\n".to_owned();
        for secret in [private.to_pkcs8_pem(), pkcs1, openssh] {
            let e = PublicKey::from_pem(&secret).unwrap_err();
            assert_eq!(e, KeyError::WrongKind(WrongKind::PrivateKey));
            assert!(e.to_string().contains("never upload it"), "{e}");
            assert!(e.to_string().contains("openssl pkey -in key.pem -pubout"));
        }
        let certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
        assert!(PublicKey::from_pem(certificate)
            .unwrap_err()
            .to_string()
            .contains("openssl x509"));
        let ssh = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ ada@laptop";
        assert!(PublicKey::from_pem(ssh)
            .unwrap_err()
            .to_string()
            .contains("ssh-keygen -e -m PKCS8"));
        // RFC 8410's ed25519 example key, and an OpenSSH ed25519 key.
        let ed25519 = "-----BEGIN PUBLIC KEY-----\n\
                       MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n\
                       -----END PUBLIC KEY-----";
        for other in [ed25519, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI ada@laptop"] {
            assert_eq!(
                PublicKey::from_pem(other).unwrap_err(),
                KeyError::WrongKind(WrongKind::NotRsa),
                "{other}"
            );
        }
        assert_eq!(
            PublicKey::from_pem("hello").unwrap_err(),
            KeyError::Malformed
        );
    }

    #[test]
    fn sign_verify_and_both_pem_forms() {
        let private = PrivateKey::generate(2048).unwrap();
        let public = private.public_key();
        let sig = private.sign(b"message");
        for pem in [public.to_spki_pem(), public.to_pkcs1_pem()] {
            let key = PublicKey::from_pem(&pem).unwrap();
            assert_eq!(key.bits(), 2048);
            assert!(key.verify(b"message", &sig));
            assert!(!key.verify(b"messagE", &sig));
            assert!(!key.verify(b"message", &sig[1..]));
        }
        let reparsed = PrivateKey::from_pem(&private.to_pkcs8_pem()).unwrap();
        assert_eq!(
            reparsed.sign(b"m"),
            private.sign(b"m"),
            "PKCS#1 v1.5 is deterministic"
        );
    }

    #[test]
    fn small_and_malformed_keys_are_refused() {
        // A 1024-bit key, as `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024` makes.
        let small = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
        let pem = small
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        assert_eq!(
            PublicKey::from_pem(&pem),
            Err(KeyError::UnsupportedSize(1024))
        );
        for bad in [
            "",
            "not a key",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
        ] {
            assert_eq!(PublicKey::from_pem(bad), Err(KeyError::Malformed));
        }
        assert!(PrivateKey::generate(1024).is_err());
    }

    #[test]
    fn one_operation_checks_every_message_form() {
        let private = PrivateKey::generate(2048).unwrap();
        let public = private.public_key();
        let sig = private.sign(b"second");
        take_verifications();
        assert_eq!(public.verify_any(&[b"first", b"second"], &sig), Some(1));
        assert_eq!(public.verify_any(&[b"first", b"third"], &sig), None);
        assert_eq!(take_verifications(), 2, "one RSA operation per call");
    }

    #[test]
    fn only_the_standard_public_exponent_is_accepted() {
        let n = PrivateKey::generate(2048).unwrap().0.n().clone();
        for e in [3u64, 17, 65_539, (1 << 33) - 1] {
            let odd = RsaPublicKey::new_unchecked(n.clone(), rsa::BigUint::from(e));
            let pem = odd.to_public_key_pem(LineEnding::LF).unwrap();
            assert_eq!(
                PublicKey::from_pem(&pem),
                Err(KeyError::UnsupportedExponent),
                "e = {e}"
            );
        }
        let f4 = RsaPublicKey::new_unchecked(n, rsa::BigUint::from(65_537u32));
        assert!(PublicKey::from_pem(&f4.to_public_key_pem(LineEnding::LF).unwrap()).is_ok());
    }
}
