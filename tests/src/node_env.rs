//! Service environments and the installer's `POST /secrets`, as its real steps do
//! them (`rollout_node.sh`, ../shared/FLASHBACK.md): the payload `jq -nc` prints, a
//! signature by the openssl CLI, and the answer taken apart with jq, base64, xxd and
//! openssl in bash — the same commands the installer runs.

use crate::flashback::{installer_post, openssl_sign};
use crate::{TestApp, TestResponse};
use serde_json::{json, Value};
use std::process::Command;

/// `PUT /organization/{org}/node-env/{service}` with `{"env": file}` as `token`.
pub fn set_env(app: &TestApp, token: &str, org: &str, service: &str, file: &str) -> TestResponse {
    app.request_as(
        token,
        "PUT",
        &format!("/organization/{org}/node-env/{service}"),
        Some(&json!({ "env": file })),
    )
}

/// The three files of an organization, distinct per organization and service.
pub fn env_files(org: &str) -> [(&'static str, String); 3] {
    ["s3", "gcs", "blob"].map(|s| {
        (
            s,
            format!(
                "{}_ACCESS_KEY=key-{org}\n{}_SECRET=\"s3cr3t=+/ {org}\"\n",
                s.to_uppercase(),
                s.to_uppercase()
            ),
        )
    })
}

/// Sets all three with `token`; panics unless each is stored.
pub fn set_all_envs(app: &TestApp, token: &str, org: &str) -> [(&'static str, String); 3] {
    let files = env_files(org);
    for (service, file) in &files {
        let res = set_env(app, token, org, service, file);
        // On a 500 the test client prints the worker's log (crate::http).
        assert_eq!(res.status, 200, "{}", res.body);
    }
    files
}

/// The installer's `/secrets` payload, byte for byte as `jq -nc` prints
/// `{ip:$ip,region:$region,timestamp:$timestamp,signature:$signature,id_org:$id_org}`
/// with `--argjson timestamp` (a bare number), signed by the openssl CLI over
/// `ip|region|timestamp`.
pub fn secrets_payload(key_pem: &str, ip: &str, region: &str, org: &str, seconds: i64) -> String {
    let signature = openssl_sign(key_pem, &format!("{ip}|{region}|{seconds}"));
    format!(
        "{{\"ip\":\"{ip}\",\"region\":\"{region}\",\"timestamp\":{seconds},\
         \"signature\":\"{signature}\",\"id_org\":\"{org}\"}}"
    )
}

/// `curl -sS -X POST $BACKEND/secrets -H "Content-Type: application/json" -d $PAYLOAD`.
pub fn post_secrets(app: &TestApp, payload: &str) -> TestResponse {
    installer_post(app, "/secrets", payload)
}

/// The installer's way to one service's file from a 2xx answer: `env_<svc>_enc` as JSON
/// (`jq -r '.env_<svc>_enc | fromjson'`), the AES key by `openssl pkeyutl -decrypt`
/// (RSA-OAEP, SHA-256), the HMAC by `openssl dgst -sha256 -mac HMAC` compared as base64
/// text, then `openssl enc -d -aes-256-ctr -nosalt`. `Err` with the script's stderr
/// when any step refuses (e.g. the HMAC check).
pub fn installer_decrypt(answer: &str, key_pem: &str, service: &str) -> Result<Vec<u8>, String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let key_path = dir.path().join("private_key.pem");
    std::fs::write(&key_path, key_pem).expect("write key");
    let out_path = dir.path().join("env");
    let script = r#"
set -euo pipefail
enc=$(printf '%s' "$ANSWER" | jq -r ".env_${SERVICE}_enc | fromjson")
key_b64=$(printf '%s' "$enc" | jq -r '.key')
iv_b64=$(printf '%s' "$enc" | jq -r '.iv')
ct_b64=$(printf '%s' "$enc" | jq -r '.ct')
mac_b64=$(printf '%s' "$enc" | jq -r '.mac')
echo "$iv_b64" | base64 -d > "$WORK/iv"
echo "$ct_b64" | base64 -d > "$WORK/ct"
echo "$key_b64" | base64 -d \
  | openssl pkeyutl -decrypt -inkey "$KEY" -pkeyopt rsa_padding_mode:oaep \
      -pkeyopt rsa_oaep_md:sha256 > "$WORK/aes"
key_hex=$(xxd -p -c256 "$WORK/aes")
iv_hex=$(xxd -p -c256 "$WORK/iv")
mac_calc=$(cat "$WORK/iv" "$WORK/ct" | openssl dgst -sha256 -mac HMAC -macopt hexkey:"$key_hex" -binary | base64)
if [[ "$mac_calc" != "$mac_b64" ]]; then echo "HMAC verification failed" >&2; exit 1; fi
openssl enc -d -aes-256-ctr -K "$key_hex" -iv "$iv_hex" -in "$WORK/ct" -out "$OUT" -nosalt
"#;
    let out = Command::new("bash")
        .args(["-c", script])
        .env("ANSWER", answer)
        .env("SERVICE", service)
        .env("KEY", &key_path)
        .env("WORK", dir.path())
        .env("OUT", &out_path)
        .output()
        .expect("run bash");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(std::fs::read(&out_path).expect("decrypted file"))
}

/// The `message` of a bridge-shaped refusal.
pub fn message(res: &TestResponse) -> String {
    let body: Value = res.json();
    body["message"].as_str().unwrap_or_default().to_owned()
}
