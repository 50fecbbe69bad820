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
