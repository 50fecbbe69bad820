//! The core crypto, run as wasm under node (`make test`, or `wasm-pack test --node core`).
//! Native unit tests cover the logic; this suite proves the same code behaves the same
//! when compiled for the Workers runtime (randomness source, 32-bit usize, no SHA-NI).
#![cfg(target_arch = "wasm32")]

use gatehouse_core::crypto::{constant_time_eq, hex, random_bytes, sha256};
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn sha256_matches_the_fips_vector_in_wasm() {
    assert_eq!(
        hex(&sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[wasm_bindgen_test]
fn randomness_comes_from_the_js_crypto_api() {
    let a = random_bytes::<32>().expect("crypto.getRandomValues is available");
    let b = random_bytes::<32>().unwrap();
    assert_ne!(a, b);
}

#[wasm_bindgen_test]
fn constant_time_eq_in_wasm() {
    assert!(constant_time_eq(b"same", b"same"));
    assert!(!constant_time_eq(b"same", b"sane"));
}

#[wasm_bindgen_test]
fn pbkdf2_hash_and_known_answer_in_wasm() {
    use gatehouse_core::config::KdfHash;
    use gatehouse_core::crypto::password::{hash, verify};
    let stored = hash(b"correct horse", KdfHash::Sha512, 1000).unwrap();
    assert!(verify(b"correct horse", &stored).unwrap());
    assert!(!verify(b"wrong horse", &stored).unwrap());
    // Python: hashlib.pbkdf2_hmac('sha512', b'password', b'salt', 1000), as a PHC string.
    let known = "$pbkdf2-sha512$i=1000$c2FsdA$r+bFUweFtsxrHGRTOEcxvV7kMu5Un9QvtmlXea2KHFv1neacSPd078QAfVKY+QM8AkHVq2kwXntk7O642DTP7A";
    assert!(verify(b"password", known).unwrap());
    assert!(!verify(b"passwore", known).unwrap());
}

#[wasm_bindgen_test]
fn pbkdf2_sha256_rfc_7914_vector_in_wasm() {
    use gatehouse_core::crypto::pbkdf2::pbkdf2_hmac_sha256;
    let mut out = [0u8; 64];
    pbkdf2_hmac_sha256(b"Password", b"NaCl", 80000, &mut out);
    assert_eq!(
        gatehouse_core::crypto::hex(&out),
        "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56\
         a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"
    );
}

/// Made once with the openssl CLI (genpkey 2048; `dgst -sha256 -sign` over the canonical
/// message below), so this checks our wasm build against an independent signer.
const OPENSSL_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAsbBTeBB6jevGhCDZLtvI\n5PmLqkvhCMrW9fWFz3MuLG0i2iP9BslsIwBf86/Oo3eXabVUd3lab2nrTqev4Xis\nU3U5ADPTzayTjBkHg5HTnUpPPG1Aywde2WbexopZKuWtPuwa6RPCvuR8W6OSenz+\n/pL1yUGEAu9HknMjmV3g3Cm/E8RfDH5Zh2V4+efeF3YU6cutwqfkzDBfY2VrvlAf\nm3LO0ZlsaGRsBtfZrEvJdH4jESxiRb3DxMjwLNNvZBXkNInfVReDwUeqVw9ELlB9\nOWPpNpmxciWCsm9r5hGiOrkcOoS6oWyGAIxDYfLax+fzODeRJd4EGc6+XHIVnUD7\nLwIDAQAB\n-----END PUBLIC KEY-----";
const OPENSSL_SIGNATURE_B64: &str = "kDvdx+gzk42sGYlMII550gqmYhen1zu1QyyL1XckC2RYX0+BcE/X/VD/aW4tvIkaeH4OwJEeJr987ZuzlbkoPJa8x08zjL6DGp5Hjigby+z8GjfosUnY0fBiwGmSHpinB+KbuPX0mImyqEe0nWaiJQO12bSiF4WjIfIE4K4GJLVYg57sVGWyupLGbPDxXSsyzP6snDb9FCk6ZqslG1wa0B5mecfE6a7tdWb+fS4uY3UgAOaEUZXkdBZ6MlvC/u+f0YxECYCMeKVY5tvKK//e/96HMSOZcKhJtJRHWsTlz6+8/qG9keKyuNx4XpZCzBKxZcy8B61EV18cay5amSJ5TA==";

#[wasm_bindgen_test]
fn openssl_signature_verifies_in_wasm() {
    use base64::Engine;
    use gatehouse_core::crypto::rsa_keys::PublicKey;
    use gatehouse_core::nodes::registration::SignedFields;
    let fields = SignedFields {
        provider: "S3".into(),
        ip: "203.0.113.7".into(),
        status: "active".into(),
        region: "eu-west-1".into(),
        version: "1.4.2".into(),
        timestamp: "2024-01-15T10:30:00.000Z".into(),
        id_org: None,
        node_services: None,
    };
    let key = PublicKey::from_pem(OPENSSL_PUBLIC_KEY).unwrap();
    let signature = base64::engine::general_purpose::STANDARD
        .decode(OPENSSL_SIGNATURE_B64)
        .unwrap();
    assert!(key.verify(fields.canonical_message().as_bytes(), &signature));
    let mut tampered = fields.clone();
    tampered.region = "us-east-1".into();
    assert!(!key.verify(tampered.canonical_message().as_bytes(), &signature));
}

/// 4096 bits (128 limbs, the largest accepted key), made by openssl:
/// `openssl dgst -sha256 -sign` over b"hello".
const OPENSSL_4096_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----\nMIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEAn/2gnu79fXvRUm/kcJEI\nzLTkBKOvpluHdLAdT/y3prNQ2MSTyOVXKWvS5gTbPXYvHB58erPviYKnSveYR1d8\nVpsSjM7iiQi3fA1kwO39tqci1dAae8at4sALrLBFEJ1SXD1djJ3ND5TYxBbqraah\nKa3dUQbQ11Y/IkH9iq5FWGyNzHizirOu+Bc/++q9wNq55Aqv1FMsWO1zWxF4kth1\nQp63GyLhWoQzGjFzNvC7Glu82gARbAPi2gVA6PpNnb2ez3dEHzkwu2M+VxbHyMnu\nIUcGjjpo2YH5gAhxmlIiT4hOVFGa4x2PMP6MTdvB+YLQizFu5D7Pt8jjc4pCSjOT\nymB2vB2uy8JsXceU+n5XzczmFZwG0xkkkHkTdrL9mZpki9U9xSykAsBk2myyhnL+\nKU75Es9/G6UG/M7Ein/9yLlj7nWMaj/82px7nswwFmpLwC3C8TnYD07mZ70B2Qlg\n2EouY19WE3elXINsOkswDnRfl4qI867g0WIvI5krutTHaYt3nLs0mbDUQfgLC8NB\ndXSUy8UXB/1Q9UOOpm4/oEI6ghbZJvvPQEWXmWUlOV2WNz/HIsxyI26rFpexh+h6\nRXiiWIB9AxnANbeA2XWQKHeXCnV7B2hzMPpsoTggY5A815RDMf8DK74UKdNMlT4I\nTnHgvqWVaGT8ZKkSexQnZq0CAwEAAQ==\n-----END PUBLIC KEY-----";
const OPENSSL_4096_SIGNATURE_B64: &str = "NRgR1++qfw3Jc+4HvAwx0jpHFNcW+46bv8LugplbK71wd9xv89pSjdsQmqxLl9bnDuh+JR7DjBLRJGr4j0CqPH3k7a0E2iBO3y1XT4A/OEPzw4Gp5E5H/wlSefu/QyBZQ0i1QwRjIqnL+hFevOrnfBoM101lcrLwy697y1+6duugm0WZvH6673C+SJ5HteODG+tz49t+hbJO+tGm9Zd6w4DFg4raIWMjP0IY8OFU/IdEScMn2BghWRDmzkAedFrCCRXGGo5xjAho+I5tyLD17JXU//0gx2lXxVAqHV8XGHvAuJRoZnTXeaViOteCarkkeqTKgmQWRgUb0Lblj+u/lrCbfuWJBLcjlq+aZELK8fjyCDOvtYqILBHnH+u7P1VGOjuQOxPBIh+rC21YeiA8vRSGEhiDJi4Uz9TaZQLgfnEBR6YTc2N96AuHmSS/Zo29+99NoPtPhRckK6apAL44hVUgdFSBBFuf+dNIYbz7CwSGuCMPveQW7dSh7D4V3Vqsi5P8nTzexTZ+4H7wkt773HxLFu7YtOatu8dADpv4LmK5X8IW7QPiHgZBgoNdgXuEhBznebsBqcEeD9IB+q9mPZ5EHQCUNySoOJsuBTrr7QwBvfO5PcCRHoFU1+Q0aYeLpG1ACNMUkCJMEfcL9E8KPFAe9+LNylCn0sK7I3G/wRA=";

#[wasm_bindgen_test]
fn openssl_4096_bit_signature_verifies_in_wasm() {
    use base64::Engine;
    use gatehouse_core::crypto::rsa_keys::PublicKey;
    let key = PublicKey::from_pem(OPENSSL_4096_PUBLIC_KEY).unwrap();
    assert_eq!(key.bits(), 4096);
    let mut signature = base64::engine::general_purpose::STANDARD
        .decode(OPENSSL_4096_SIGNATURE_B64)
        .unwrap();
    assert!(key.verify(b"hello", &signature));
    assert!(!key.verify(b"hellO", &signature));
    signature[511] ^= 1;
    assert!(!key.verify(b"hello", &signature));
}
