//! Password and secret hashing: PBKDF2-HMAC-SHA256/512 in PHC string format,
//! `$pbkdf2-sha512$i=210000$<salt>$<hash>` (salt and hash in unpadded standard base64).
//!
//! The parameters live in the stored string, so verification never depends on the
//! current config, and [`needs_rehash`] tells when a stored hash is weaker than it.

use crate::config::KdfHash;
use crate::crypto::pbkdf2::{pbkdf2_hmac_sha256, pbkdf2_hmac_sha512};
use crate::crypto::{constant_time_eq, random_bytes};
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;

const SALT_BYTES: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhcHash {
    pub kdf: KdfHash,
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub hash: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhcError {
    /// The stored string is not a PHC string we wrote.
    Malformed,
    /// No randomness for the salt.
    NoRandomness,
}

thread_local! {
    static KDF_RUNS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// KDF runs on this thread since the last call. The KDF is the dearest thing a
/// request can cost, so tests hold routes to a count of it, as they do to D1 round
/// trips; per request through [`crate::crypto::work::counted`].
pub(crate) fn take_kdf_runs() -> u32 {
    KDF_RUNS.with(|n| n.replace(0))
}

fn derive(kdf: KdfHash, secret: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
    KDF_RUNS.with(|n| n.set(n.get() + 1));
    match kdf {
        KdfHash::Sha256 => {
            let mut out = vec![0u8; 32];
            pbkdf2_hmac_sha256(secret, salt, iterations, &mut out);
            out
        }
        KdfHash::Sha512 => {
            let mut out = vec![0u8; 64];
            pbkdf2_hmac_sha512(secret, salt, iterations, &mut out);
            out
        }
    }
}

/// Hashes `secret` with a fresh 16-byte random salt.
pub fn hash(secret: &[u8], kdf: KdfHash, iterations: u32) -> Result<String, PhcError> {
    let salt = random_bytes::<SALT_BYTES>().map_err(|_| PhcError::NoRandomness)?;
    let hash = derive(kdf, secret, &salt, iterations);
    Ok(PhcHash {
        kdf,
        iterations,
        salt: salt.to_vec(),
        hash,
    }
    .to_string())
}

/// Whether `secret` matches the stored PHC string. The comparison is constant-time.
pub fn verify(secret: &[u8], stored: &str) -> Result<bool, PhcError> {
    let phc = PhcHash::parse(stored)?;
    let candidate = derive(phc.kdf, secret, &phc.salt, phc.iterations);
    Ok(constant_time_eq(&candidate, &phc.hash))
}

/// Whether a stored hash uses weaker parameters than the current config.
pub fn needs_rehash(stored: &str, kdf: KdfHash, iterations: u32) -> bool {
    match PhcHash::parse(stored) {
        Ok(phc) => phc.kdf != kdf || phc.iterations < iterations,
        Err(_) => true,
    }
}

impl PhcHash {
    pub fn parse(s: &str) -> Result<PhcHash, PhcError> {
        let mut parts = s.split('$');
        let (Some(""), Some(id), Some(params), Some(salt), Some(hash), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(PhcError::Malformed);
        };
        let kdf = KdfHash::parse(id).ok_or(PhcError::Malformed)?;
        let iterations = params
            .strip_prefix("i=")
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|n| *n >= 1)
            .ok_or(PhcError::Malformed)?;
        let salt = B64.decode(salt).map_err(|_| PhcError::Malformed)?;
        let hash = B64.decode(hash).map_err(|_| PhcError::Malformed)?;
        if salt.is_empty() || hash.is_empty() {
            return Err(PhcError::Malformed);
        }
        Ok(PhcHash {
            kdf,
            iterations,
            salt,
            hash,
        })
    }
}

impl std::fmt::Display for PhcHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "${}$i={}${}${}",
            self.kdf.phc_id(),
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(&self.hash)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::hex;

    #[test]
    fn pbkdf2_matches_published_and_python_vectors() {
        // RFC 7914 section 11, PBKDF2-HMAC-SHA256.
        assert_eq!(
            hex(&derive(KdfHash::Sha256, b"passwd", b"salt", 1)),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
        // Python's hashlib.pbkdf2_hmac (an independent implementation).
        assert_eq!(
            hex(&derive(KdfHash::Sha512, b"password", b"salt", 1000)),
            "afe6c5530785b6cc6b1c6453384731bd5ee432ee549fd42fb6695779ad8a1c5bf59de69c48f774efc4007d5298f9033c0241d5ab69305e7b64eceeb8d834cfec"
        );
    }

    #[test]
    fn hash_then_verify() {
        let stored = hash(b"correct horse", KdfHash::Sha512, 1000).unwrap();
        assert!(stored.starts_with("$pbkdf2-sha512$i=1000$"));
        assert!(verify(b"correct horse", &stored).unwrap());
        assert!(!verify(b"correct horsE", &stored).unwrap());
        assert_ne!(
            stored,
            hash(b"correct horse", KdfHash::Sha512, 1000).unwrap(),
            "salted"
        );
    }

    #[test]
    fn parameters_come_from_the_stored_string() {
        let stored = hash(b"s", KdfHash::Sha256, 2000).unwrap();
        let phc = PhcHash::parse(&stored).unwrap();
        assert_eq!(
            (phc.kdf, phc.iterations, phc.salt.len(), phc.hash.len()),
            (KdfHash::Sha256, 2000, 16, 32)
        );
        assert!(needs_rehash(&stored, KdfHash::Sha256, 3000));
        assert!(needs_rehash(&stored, KdfHash::Sha512, 1000));
        assert!(!needs_rehash(&stored, KdfHash::Sha256, 2000));
    }

    #[test]
    fn malformed_strings_are_refused() {
        for s in [
            "",
            "$pbkdf2-sha512$i=1$$",
            "$md5$i=1$YQ$YQ",
            "$pbkdf2-sha256$i=0$YQ$YQ",
            "$pbkdf2-sha256$n=1$YQ$YQ",
            "$pbkdf2-sha256$i=1$***$YQ",
            "pbkdf2-sha256$i=1$YQ$YQ",
            "$pbkdf2-sha256$i=1$YQ$YQ$x",
        ] {
            assert_eq!(PhcHash::parse(s), Err(PhcError::Malformed), "{s}");
        }
    }
}
