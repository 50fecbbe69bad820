//! The work each benchmark times, shared by the native runner (src/main.rs) and the
//! wasm module node runs (bench/node.mjs). Timing happens in the caller, around these.

use gatehouse_core::crypto::pbkdf2::{pbkdf2_hmac_sha256, pbkdf2_hmac_sha512};
use gatehouse_core::crypto::rsa_keys::PublicKey;
use gatehouse_core::nodes::registration as node_registration;

// The allocator comparison of `make bench`: the same wasm with talc instead of Rust's
// default (dlmalloc). docs/performance.md, "Build profile".
#[cfg(all(feature = "talc", target_arch = "wasm32"))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// PBKDF2 with our implementation (core/kernels/src/pbkdf2.rs), as production runs it.
pub fn kdf_ours(sha512: bool, iterations: u32) -> u8 {
    let mut out = [0u8; 64];
    if sha512 {
        pbkdf2_hmac_sha512(
            b"correct horse battery",
            b"0123456789abcdef",
            iterations,
            &mut out,
        );
    } else {
        pbkdf2_hmac_sha256(
            b"correct horse battery",
            b"0123456789abcdef",
            iterations,
            &mut out[..32],
        );
    }
    out[0]
}

/// PBKDF2 with the `pbkdf2` crate (the generic HMAC loop), for comparison.
pub fn kdf_crate(sha512: bool, iterations: u32) -> u8 {
    let mut out = [0u8; 64];
    if sha512 {
        pbkdf2::pbkdf2_hmac::<sha2::Sha512>(
            b"correct horse battery",
            b"0123456789abcdef",
            iterations,
            &mut out,
        );
    } else {
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
            b"correct horse battery",
            b"0123456789abcdef",
            iterations,
            &mut out[..32],
        );
    }
    out[0]
}

/// An RSA-2048 public key (SPKI PEM) and a PKCS#1 v1.5 SHA-256 signature over
/// [`RSA_MESSAGE`], made once by openssl (bench/fixtures/).
pub const RSA_PUBLIC_PEM: &str = include_str!("../fixtures/rsa2048.pub.pem");
pub const RSA_SIGNATURE: &[u8] = include_bytes!("../fixtures/rsa2048.sig");
pub const RSA_MESSAGE: &[u8] = b"gatehouse-node-register-v1\nS3\n203.0.113.7\nactive\neu-west-1\n1.4.2\n2026-11-22T10:30:00.000Z\nacme";

pub fn rsa_parse() -> PublicKey {
    PublicKey::from_pem(RSA_PUBLIC_PEM).expect("fixture key parses")
}

/// Verifies the fixture signature `n` times with an already parsed key (our
/// Montgomery verify, core/kernels/src/rsa_verify.rs, as production runs it).
pub fn rsa_verify(key: &PublicKey, n: u32) -> u32 {
    (0..n)
        .filter(|_| key.verify(RSA_MESSAGE, RSA_SIGNATURE))
        .count() as u32
}

/// The body a node sends with the fixture signature (its fields are [`RSA_MESSAGE`]'s).
pub fn register_body() -> Vec<u8> {
    use base64::Engine;
    serde_json::json!({
        "provider": "S3", "ip": "203.0.113.7", "status": "active", "region": "eu-west-1",
        "version": "1.4.2", "timestamp": "2026-11-22T10:30:00.000Z", "id_org": "acme",
        "signature": base64::engine::general_purpose::STANDARD.encode(RSA_SIGNATURE),
    })
    .to_string()
    .into_bytes()
}

/// What /register computes per request besides I/O, `n` times: parse and check the
/// body, build the canonical message, verify with the (cached) key. It allocates as
/// the route does (JSON values, strings), so the allocator shows here too.
pub fn register_pipeline(key: &PublicKey, body: &[u8], n: u32) -> u32 {
    (0..n)
        .filter(|_| {
            node_registration::parse(body)
                .is_ok_and(|r| key.verify(r.fields.canonical_message().as_bytes(), &r.signature))
        })
        .count() as u32
}

/// The `rsa` crate's own verify of the same signature, for comparison.
pub fn rsa_crate_parse() -> rsa::RsaPublicKey {
    use rsa::pkcs8::DecodePublicKey;
    rsa::RsaPublicKey::from_public_key_pem(RSA_PUBLIC_PEM).expect("fixture key parses")
}

pub fn rsa_crate_verify(key: &rsa::RsaPublicKey, n: u32) -> u32 {
    use sha2::{Digest, Sha256};
    (0..n)
        .filter(|_| {
            let digest = Sha256::digest(RSA_MESSAGE);
            key.verify(rsa::Pkcs1v15Sign::new::<Sha256>(), &digest, RSA_SIGNATURE)
                .is_ok()
        })
        .count() as u32
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    pub fn kdf_ours(sha512: bool, iterations: u32) -> u8 {
        super::kdf_ours(sha512, iterations)
    }

    #[wasm_bindgen]
    pub fn kdf_crate(sha512: bool, iterations: u32) -> u8 {
        super::kdf_crate(sha512, iterations)
    }

    /// Parses the key `n` times (what an uncached /register would pay per request).
    #[wasm_bindgen]
    pub fn rsa_parse(n: u32) -> u32 {
        (0..n).map(|_| super::rsa_parse().bits() as u32).sum()
    }

    #[wasm_bindgen]
    pub fn rsa_verify(n: u32) -> u32 {
        super::rsa_verify(&super::rsa_parse(), n)
    }

    #[wasm_bindgen]
    pub fn register_pipeline(n: u32) -> u32 {
        super::register_pipeline(&super::rsa_parse(), &super::register_body(), n)
    }

    #[wasm_bindgen]
    pub fn rsa_crate_parse(n: u32) -> u32 {
        use rsa::traits::PublicKeyParts;
        (0..n).map(|_| super::rsa_crate_parse().size() as u32).sum()
    }

    #[wasm_bindgen]
    pub fn rsa_crate_verify(n: u32) -> u32 {
        super::rsa_crate_verify(&super::rsa_crate_parse(), n)
    }
}
