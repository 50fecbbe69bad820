//! WebCrypto (`crypto.subtle`) for the two ciphers of service environments: RSA-OAEP
//! (SHA-256) key wrapping for the installer's envelope, and AES-256-CTR for the
//! envelope and for sealing at rest (core::node_env). The runtime's own
//! implementations: native speed, and nothing added to the wasm but these bindings.
//! The same with RustCrypto crates (`rsa`'s OAEP, `aes` + `ctr`) measured 18 KiB gzip
//! more, over the bundle budget (docs/nodes.md, "Service environments"). The formats
//! and everything pure stay in core, tested natively.

use gatehouse_core::http::problem::Problem;
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    type SubtleCrypto;

    #[wasm_bindgen(method, catch, js_name = importKey)]
    fn import_key(
        this: &SubtleCrypto,
        format: &str,
        key_data: &Uint8Array,
        algorithm: &Object,
        extractable: bool,
        usages: &Array,
    ) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn encrypt(
        this: &SubtleCrypto,
        algorithm: &Object,
        key: &JsValue,
        data: &Uint8Array,
    ) -> Result<Promise, JsValue>;
}

/// RSA-OAEP with SHA-256 (and MGF1-SHA-256, no label) of `data` to the key whose SPKI
/// DER is `spki_der`: `openssl pkeyutl -decrypt -pkeyopt rsa_padding_mode:oaep
/// -pkeyopt rsa_oaep_md:sha256` undoes it.
pub async fn rsa_oaep_sha256(spki_der: &[u8], data: &[u8]) -> Result<Vec<u8>, Problem> {
    let algorithm = object(&[("name", "RSA-OAEP".into()), ("hash", "SHA-256".into())]);
    let key = import(spki_der, "spki", &algorithm)
        .await
        .map_err(failed("import RSA key"))?;
    encrypt_with(&object(&[("name", "RSA-OAEP".into())]), &key, data)
        .await
        .map_err(failed("RSA-OAEP"))
}

/// AES-256-CTR of `data` (encrypting and decrypting are the same) with the whole
/// 16-byte `iv` as a big-endian counter block (`length: 128`), as `openssl enc
/// -aes-256-ctr -iv …` counts.
pub async fn aes_256_ctr(key: &[u8; 32], iv: &[u8; 16], data: &[u8]) -> Result<Vec<u8>, Problem> {
    let algorithm = object(&[("name", "AES-CTR".into())]);
    let key = import(key, "raw", &algorithm)
        .await
        .map_err(failed("import AES key"))?;
    let params = object(&[
        ("name", "AES-CTR".into()),
        ("counter", Uint8Array::from(&iv[..]).into()),
        ("length", 128.into()),
    ]);
    encrypt_with(&params, &key, data)
        .await
        .map_err(failed("AES-CTR"))
}

fn subtle() -> Result<SubtleCrypto, JsValue> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into())?;
    Ok(Reflect::get(&crypto, &"subtle".into())?.unchecked_into())
}

async fn import(key_data: &[u8], format: &str, algorithm: &Object) -> Result<JsValue, JsValue> {
    let usages = Array::of1(&"encrypt".into());
    let promise = subtle()?.import_key(
        format,
        &Uint8Array::from(key_data),
        algorithm,
        false,
        &usages,
    )?;
    JsFuture::from(promise).await
}

async fn encrypt_with(algorithm: &Object, key: &JsValue, data: &[u8]) -> Result<Vec<u8>, JsValue> {
    let promise = subtle()?.encrypt(algorithm, key, &Uint8Array::from(data))?;
    let buffer = JsFuture::from(promise).await?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

fn object(entries: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    for (name, value) in entries {
        let _ = Reflect::set(&o, &JsValue::from_str(name), value);
    }
    o
}

/// Logs which step failed (never a key or data) and answers 500.
fn failed(step: &'static str) -> impl Fn(JsValue) -> Problem {
    move |e| {
        worker::console_error!("webcrypto: {step} failed: {e:?}");
        Problem::Internal
    }
}
