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
    use gatehouse_core::password::{hash, verify};
    let stored = hash(b"correct horse", KdfHash::Sha512, 1000).unwrap();
    assert!(verify(b"correct horse", &stored).unwrap());
    assert!(!verify(b"wrong horse", &stored).unwrap());
    // Python: hashlib.pbkdf2_hmac('sha512', b'password', b'salt', 1000), as a PHC string.
    let known = "$pbkdf2-sha512$i=1000$c2FsdA$r+bFUweFtsxrHGRTOEcxvV7kMu5Un9QvtmlXea2KHFv1neacSPd078QAfVKY+QM8AkHVq2kwXntk7O642DTP7A";
    assert!(verify(b"password", known).unwrap());
    assert!(!verify(b"passwore", known).unwrap());
}
