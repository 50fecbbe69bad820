//! Service environments at rest: sealed under `NODE_ENV_KEY` (a Worker secret, never in
//! D1), so a copy of the database alone — a leaked backup or export, a D1 read by
//! someone without the Worker's secrets — reveals neither the files nor which are equal.
//!
//! `v1.` then standard base64 of `iv (16) || ct || mac (32)`: AES-256-CTR under
//! `HMAC(NODE_ENV_KEY, "gatehouse node-env v1 enc")` ([`NodeEnvKey::cipher_key`]; the
//! worker runs it with WebCrypto, src/webcrypto.rs), then HMAC-SHA256 under
//! `HMAC(NODE_ENV_KEY, "gatehouse node-env v1 mac")` over the organization, the
//! service, the iv and the ciphertext. The organization and service are bound in: a
//! row copied to another organization or service does not open there. The same
//! primitives as the installer's envelope ([`super::envelope`]).

use super::envelope::hmac_sha256;
use super::Service;
use crate::crypto::constant_time_eq;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

const PREFIX: &str = "v1.";
const IV: usize = 16;
const MAC: usize = 32;

/// `NODE_ENV_KEY`: 32 random bytes, given as 64 hex digits (`openssl rand -hex 32`).
#[derive(Clone, PartialEq, Eq)]
pub struct NodeEnvKey([u8; 32]);

impl NodeEnvKey {
    pub fn parse(raw: &str) -> Result<NodeEnvKey, String> {
        let raw = raw.trim();
        let bytes: Option<Vec<u8>> = (raw.len() == 64 && raw.is_ascii())
            .then(|| {
                (0..64)
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&raw[i..i + 2], 16).ok())
                    .collect()
            })
            .flatten();
        let key: [u8; 32] = bytes
            .and_then(|b| b.try_into().ok())
            .ok_or("expected 64 hex digits (32 random bytes: `openssl rand -hex 32`)")?;
        let distinct = key.iter().collect::<std::collections::BTreeSet<_>>().len();
        if distinct < 8 {
            return Err("too weak: use 32 random bytes (`openssl rand -hex 32`)".into());
        }
        Ok(NodeEnvKey(key))
    }

    fn derive(&self, purpose: &str) -> [u8; 32] {
        hmac_sha256(&self.0, &[purpose.as_bytes()])
    }

    /// The AES-256-CTR key rows are encrypted under.
    pub fn cipher_key(&self) -> [u8; 32] {
        self.derive("gatehouse node-env v1 enc")
    }

    /// The key's public name, 16 hex digits: `GET /health` shows the worker's (and its
    /// previous key's) so that `gatehouse-cli admin node-env-reseal` can check it seals
    /// under the key the worker opens with before writing a row. A MAC of a fixed label,
    /// as a JWKS `kid`: it tells keys apart and reveals nothing of them.
    pub fn id(&self) -> String {
        crate::crypto::key_id(&self.0, "gatehouse node-env v1 key id")
    }
}

impl std::fmt::Debug for NodeEnvKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeEnvKey([redacted])")
    }
}

/// A sealed row that does not open: sealed under another `NODE_ENV_KEY` (rotated
/// without re-setting the environments), for another organization or service, or
/// altered in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable;

fn mac(key: &NodeEnvKey, org_id: &str, service: Service, iv: &[u8], ct: &[u8]) -> [u8; 32] {
    let org_len = (org_id.len() as u32).to_be_bytes();
    hmac_sha256(
        &key.derive("gatehouse node-env v1 mac"),
        &[
            PREFIX.as_bytes(),
            &org_len,
            org_id.as_bytes(),
            service.as_str().as_bytes(),
            b"\0",
            iv,
            ct,
        ],
    )
}

/// The stored text of a row whose file was encrypted to `ct` under
/// [`NodeEnvKey::cipher_key`] and `iv`.
pub fn seal(key: &NodeEnvKey, org_id: &str, service: Service, iv: &[u8; IV], ct: &[u8]) -> String {
    let tag = mac(key, org_id, service, iv, ct);
    format!("{PREFIX}{}", STANDARD.encode([&iv[..], ct, &tag].concat()))
}

/// A row whose MAC holds: decrypt `ct` under [`NodeEnvKey::cipher_key`] and `iv`.
#[derive(Debug, PartialEq, Eq)]
pub struct Opened {
    pub iv: [u8; IV],
    pub ct: Vec<u8>,
}

/// The ciphertext a row holds, if it was sealed by [`seal`] under this key for this
/// organization and service.
pub fn open(
    key: &NodeEnvKey,
    org_id: &str,
    service: Service,
    sealed: &str,
) -> Result<Opened, Unreadable> {
    let raw = sealed
        .strip_prefix(PREFIX)
        .and_then(|b64| STANDARD.decode(b64).ok())
        .filter(|raw| raw.len() >= IV + MAC)
        .ok_or(Unreadable)?;
    let (iv, rest) = raw.split_at(IV);
    let (ct, tag) = rest.split_at(rest.len() - MAC);
    if !constant_time_eq(&mac(key, org_id, service, iv, ct), tag) {
        return Err(Unreadable);
    }
    Ok(Opened {
        iv: iv.try_into().map_err(|_| Unreadable)?,
        ct: ct.to_vec(),
    })
}

/// A row opened with the keys a deployment holds: the current `NODE_ENV_KEY`, then,
/// while it is being rotated, `NODE_ENV_KEY_PREVIOUS`; with the key it opened under,
/// whose [`NodeEnvKey::cipher_key`] decrypts it (what `gatehouse-cli admin
/// node-env-reseal` seals again under the current one).
pub fn open_rotating<'k>(
    current: &'k NodeEnvKey,
    previous: Option<&'k NodeEnvKey>,
    org_id: &str,
    service: Service,
    sealed: &str,
) -> Result<(Opened, &'k NodeEnvKey), Unreadable> {
    std::iter::once(current)
        .chain(previous)
        .find_map(|key| Some((open(key, org_id, service, sealed).ok()?, key)))
        .ok_or(Unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HMAC-SHA256(0123…ef, "gatehouse node-env v1 key id")[..8], computed apart (Python's hmac).
    const ID_OF_0123: &str = "f2b7c9253ec480f6";

    fn key(byte: u8) -> NodeEnvKey {
        let hex: String = (0..32u8)
            .map(|i| format!("{:02x}", i.wrapping_mul(7) ^ byte))
            .collect();
        NodeEnvKey::parse(&hex).unwrap()
    }

    #[test]
    fn keys_are_64_hex_digits_of_some_variety() {
        assert!(NodeEnvKey::parse(&"ab".repeat(32))
            .unwrap_err()
            .contains("too weak"));
        assert!(NodeEnvKey::parse("abcd")
            .unwrap_err()
            .contains("64 hex digits"));
        assert!(NodeEnvKey::parse(&"zz".repeat(32)).is_err());
        assert!(NodeEnvKey::parse(&"é".repeat(32)).is_err());
        assert!(!format!("{:?}", key(1)).contains("00"));
    }

    #[test]
    fn sealed_rows_open_only_where_they_were_sealed() {
        use crate::node_env::envelope::tests::aes_ctr;
        let file = b"GCS_KEY=secret-value\n";
        let seal_it = |k: &NodeEnvKey| {
            let iv = crate::crypto::random_bytes::<16>().unwrap();
            seal(
                k,
                "org-a",
                Service::Gcs,
                &iv,
                &aes_ctr(&k.cipher_key(), &iv, file),
            )
        };
        let sealed = seal_it(&key(1));
        assert!(!sealed.contains("secret"));
        let opened = open(&key(1), "org-a", Service::Gcs, &sealed).unwrap();
        assert_eq!(aes_ctr(&key(1).cipher_key(), &opened.iv, &opened.ct), file);
        assert_eq!(
            open(&key(2), "org-a", Service::Gcs, &sealed),
            Err(Unreadable),
            "other key"
        );
        assert_eq!(
            open(&key(1), "org-b", Service::Gcs, &sealed),
            Err(Unreadable),
            "other org"
        );
        assert_eq!(
            open(&key(1), "org-a", Service::S3, &sealed),
            Err(Unreadable),
            "other service"
        );
        // One bit flipped anywhere in the ciphertext.
        let mut raw = STANDARD.decode(&sealed[3..]).unwrap();
        raw[20] ^= 1;
        let tampered = format!("v1.{}", STANDARD.encode(raw));
        assert_eq!(
            open(&key(1), "org-a", Service::Gcs, &tampered),
            Err(Unreadable)
        );
        for junk in ["", "v1.", "v1.AAAA", "v2.AAAA", "v1.!!!"] {
            assert_eq!(
                open(&key(1), "org-a", Service::Gcs, junk),
                Err(Unreadable),
                "{junk}"
            );
        }
        // The same file sealed twice differs (fresh iv): equal files are not visible.
        assert_ne!(seal_it(&key(1)), sealed);
        assert_ne!(key(1).cipher_key(), key(2).cipher_key());
    }

    #[test]
    fn a_key_is_named_by_an_id_that_tells_keys_apart() {
        let (a, b) = (key(1), key(2));
        assert_eq!(a.id().len(), 16);
        assert!(a.id().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(a.id(), key(1).id(), "the same key, the same id");
        assert_ne!(a.id(), b.id());
        // Fixed: a worker and a CLI built apart must name a key alike.
        assert_eq!(
            NodeEnvKey::parse(&"0123456789abcdef".repeat(4))
                .unwrap()
                .id(),
            ID_OF_0123
        );
    }

    #[test]
    fn while_a_key_is_rotated_rows_open_under_either_and_say_which() {
        let (one, two, three) = (key(1), key(2), key(3));
        let sealed = seal(&two, "org-a", Service::S3, &[7u8; 16], b"ct");
        let (opened, by) = open_rotating(&one, Some(&two), "org-a", Service::S3, &sealed)
            .expect("the previous key opens it");
        assert_eq!((opened.ct.as_slice(), by), (&b"ct"[..], &two));
        let (_, by) = open_rotating(&two, Some(&one), "org-a", Service::S3, &sealed)
            .expect("the current key opens it");
        assert_eq!(by, &two);
        assert!(open_rotating(&one, None, "org-a", Service::S3, &sealed).is_err());
        assert!(open_rotating(&one, Some(&three), "org-a", Service::S3, &sealed).is_err());
    }
}
