//! Cryptography: password and secret hashing (`password`, on our PBKDF2 in `pbkdf2`),
//! RSA keys and signature verification (`rsa_keys`, `rsa_verify`), what a request spent
//! on both (`work`), and here the small helpers every feature shares: randomness,
//! hashing, comparisons.

pub mod password;
pub mod rsa_keys;
pub mod work;

/// The hot loops, built for speed in a crate of their own (gatehouse-kernels says why).
pub use gatehouse_kernels::{pbkdf2, rsa_verify};

use sha2::{Digest, Sha256};

/// `N` bytes from the OS CSPRNG (`crypto.getRandomValues` on wasm).
///
/// Fails only if the platform has no randomness source at all; callers turn that into
/// an internal error rather than ever falling back to something predictable.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf)?;
    Ok(buf)
}

/// A random (version 4) UUID, for row ids.
pub fn uuid_v4() -> Result<String, getrandom::Error> {
    let mut b = random_bytes::<16>()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0x0f) as usize] as char);
    }
    out
}

/// A secret's public name, 16 hex digits: the first 8 bytes of HMAC-SHA256(secret,
/// `label`), as a JWKS `kid`: it tells secrets apart and reveals nothing of them (`GET
/// /health` shows the worker's, so that an operator sees which it holds).
pub fn key_id(secret: &[u8], label: &str) -> String {
    hex(&crate::node_env::envelope::hmac_sha256(secret, &[label.as_bytes()])[..8])
}

/// Compares two byte strings in time that depends only on their lengths, so that
/// comparing a presented token/hash with a stored one reveals nothing about where
/// they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_fips_vector() {
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq(b"token", b"token"));
        assert!(!constant_time_eq(b"token", b"tokem"));
        assert!(!constant_time_eq(b"token", b"token!"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn uuids_are_version_4() {
        let id = uuid_v4().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn random_bytes_differ_between_calls() {
        let a = random_bytes::<32>().unwrap();
        let b = random_bytes::<32>().unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
    }
}
