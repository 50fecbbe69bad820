//! Requests exactly as Flashback's public TypeScript client (`makeRequest` in
//! `src/api/client.ts`) and node installer (`rollout_node.sh`) send them
//! (../shared/FLASHBACK.md): written from those facts, not copied.

use crate::{TestApp, TestResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_core::nodes::registration::SignedFields;
use serde_json::{json, Value};

/// The answer the client's types expect: `status`, a JSON content type, the body.
pub fn json_reply(res: &TestResponse, status: u16) -> Value {
    assert_eq!(res.status, status, "{}", res.body);
    assert_eq!(res.header("content-type"), Some("application/json"));
    res.json()
}

/// userRegister with the sign-up's own fields (crate::accounts::signup_body): 201,
/// its answer.
pub fn client_sign_up(app: &TestApp, email: &str) -> Value {
    let body = crate::accounts::signup_body(email, json!({}));
    json_reply(
        &client_call(app, None, "POST", "user/register", Some(&body)),
        201,
    )
}

/// One client call: `path` without the leading `/` (the client strips it), a JSON
/// body only when `data` is given (then and only then `Content-Type:
/// application/json`), no `Accept` of its own, and `Authorization: Bearer …` on every
/// call once a token was set — public routes included, stale or not. A POST or PUT
/// without a body carries `Content-Length: 0`, as fetch sends it (the Fetch standard:
/// a null body on those methods); ureq sends `Accept: */*` as fetch does.
pub fn client_call(
    app: &TestApp,
    bearer: Option<&str>,
    method: &str,
    path: &str,
    data: Option<&Value>,
) -> TestResponse {
    client_call_at(app, None, bearer, method, path, data)
}

/// [`client_call`] as it reaches the worker through Cloudflare from the client address
/// `ip` (`CF-Connecting-IP`, which Cloudflare adds: the client never sends it), when
/// given.
pub fn client_call_at(
    app: &TestApp,
    ip: Option<&str>,
    bearer: Option<&str>,
    method: &str,
    path: &str,
    data: Option<&Value>,
) -> TestResponse {
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let body = data.map(Value::to_string);
    let mut headers: Vec<(&str, &str)> = Vec::new();
    if let Some(ip) = ip {
        headers.push(("cf-connecting-ip", ip));
    }
    if let Some(auth) = &auth {
        headers.push(("authorization", auth));
    }
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    } else if matches!(method, "POST" | "PUT") {
        headers.push(("content-length", "0"));
    }
    app.request(
        method,
        &format!("/{}", path.trim_start_matches('/')),
        &headers,
        body.as_deref().map(str::as_bytes),
    )
}

/// The client's `userRefresh(rt)` (`path` "user/refresh") or `userLogout(rt)`
/// ("user/logout"): `{"refresh_token": rt}`, no bearer of its own.
pub fn refresh_token_call(app: &TestApp, path: &str, refresh_token: &Value) -> TestResponse {
    let body = json!({"refresh_token": refresh_token});
    client_call(app, None, "POST", path, Some(&body))
}

/// The installer's `curl -sS -X POST …/register -H "Content-Type: application/json"
/// -d "$PAYLOAD"`, with the payload as `jq -nc` prints it: keys in the installer's
/// order, the timestamp a bare integer.
pub fn installer_post(app: &TestApp, path: &str, payload: &str) -> TestResponse {
    app.request(
        "POST",
        path,
        &[
            ("content-type", "application/json"),
            ("accept", "*/*"),
            ("user-agent", "curl/8.5.0"),
        ],
        Some(payload.as_bytes()),
    )
}

/// Signs `message` as the installer does: `echo -n "$MESSAGE" | openssl dgst -sha256
/// -sign KEY | base64 -w 0`, with the real openssl CLI.
pub fn openssl_sign(private_key_pem: &str, message: &str) -> String {
    use base64::Engine;
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().expect("temp dir");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&key_path, private_key_pem).expect("write key");
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(&key_path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(message.as_bytes())
        .expect("write message");
    let out = child.wait_with_output().expect("openssl output");
    assert!(out.status.success(), "openssl dgst failed");
    base64::engine::general_purpose::STANDARD.encode(out.stdout)
}

/// What the client's `nodeRegister` sends: a RegisterRequest with `timestamp:
/// Date.now()` (milliseconds) and `nodeServices`, signed in the v1 form (a ninth line
/// for nodeServices).
pub fn client_registration(key: &PrivateKey, ip: &str, org: &str, ms: i64, services: u32) -> Value {
    let fields = SignedFields {
        provider: "GCS".into(),
        ip: ip.into(),
        status: "ONLINE".into(),
        region: "europe-west1".into(),
        version: "2.1.0".into(),
        timestamp: ms.to_string(),
        id_org: Some(org.into()),
        node_services: Some(services),
    };
    let signature = STANDARD.encode(key.sign(fields.canonical_message().as_bytes()));
    json!({
        "provider": "GCS", "ip": ip, "status": "ONLINE", "region": "europe-west1",
        "version": "2.1.0", "timestamp": ms, "signature": signature, "id_org": org,
        "nodeServices": services,
    })
}

/// The installer's payload, byte for byte as `jq -nc` prints it (`org_field` is
/// `id_org`, or `org_id` for installers before October 2025): provider `AWS`.
pub fn installer_payload(
    key_pem: &str,
    ip: &str,
    org_field: &str,
    org: &str,
    seconds: i64,
) -> String {
    installer_payload_for("AWS", key_pem, ip, org_field, org, seconds)
}

/// [`installer_payload`] of the installer run with `-p <cloud>`: `provider` is the
/// cloud's name upper-cased (`AWS`, `GCP`).
pub fn installer_payload_for(
    provider: &str,
    key_pem: &str,
    ip: &str,
    org_field: &str,
    org: &str,
    seconds: i64,
) -> String {
    let fields = installer_fields(key_pem, ip, org_field, org, seconds);
    let members: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    format!("{{\"provider\":\"{provider}\",{}}}", members.join(","))
}

/// The payload of the installer run without `-p`, byte for byte: `jq 'del(.provider)'`
/// of the above, which jq prints indented (no `-c`) and `$(…)` keeps without its last
/// newline; `curl -d` sends the newlines as they are.
pub fn installer_payload_without_provider(
    key_pem: &str,
    ip: &str,
    org_field: &str,
    org: &str,
    seconds: i64,
) -> String {
    let fields = installer_fields(key_pem, ip, org_field, org, seconds);
    let members: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("  \"{k}\": {v}"))
        .collect();
    format!("{{\n{}\n}}", members.join(",\n"))
}

/// The installer's fields after `provider`, in its order, each value as JSON text:
/// `ip|region|timestamp` signed by `openssl dgst -sha256 -sign`, the timestamp a bare
/// integer.
fn installer_fields(
    key_pem: &str,
    ip: &str,
    org_field: &str,
    org: &str,
    seconds: i64,
) -> [(String, String); 7] {
    let signature = openssl_sign(key_pem, &format!("{ip}|eu-central-1|{seconds}"));
    let text = |v: &str| format!("\"{v}\"");
    [
        ("region".into(), text("eu-central-1")),
        ("ip".into(), text(ip)),
        ("status".into(), text("running")),
        ("version".into(), text("0.0.28")),
        ("timestamp".into(), seconds.to_string()),
        ("signature".into(), text(&signature)),
        (org_field.into(), text(org)),
    ]
}
