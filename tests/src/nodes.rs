//! Node fixtures for tests: organization keys and signed /register bodies, built with
//! the documented contract (the canonical message comes from core, the signature
//! from a real RSA key).

use crate::TestApp;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_core::nodes::registration::SignedFields;
use gatehouse_core::time::format_rfc3339_ms;
use serde_json::{json, Value};

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// One SQL statement (for a `d1_query` batch) that writes a node row straight into D1,
/// not through `/register`: `org`'s node at `ip`, last registered with `key_id`, created
/// at `created_at_ms` (updated then too; signed at 1). The insert trigger counts it.
pub fn node_row_sql(org: &str, ip: &str, key_id: &str, created_at_ms: i64) -> String {
    format!(
        "INSERT INTO nodes (org_id, ip, provider, status, region, version, key_id, \
         last_signed_at_ms, created_at_ms, updated_at_ms) VALUES ('{org}', '{ip}', 'S3', \
         'online', 'eu-1', '1', '{key_id}', 1, {created_at_ms}, {created_at_ms});"
    )
}

/// `org`'s node count as D1 keeps it (`organizations.node_count`, migration 0019).
pub fn node_count(app: &TestApp, org: &str) -> Value {
    app.d1_query(&format!(
        "SELECT node_count FROM organizations WHERE id = '{org}'"
    ))[0]["node_count"]
        .clone()
}

/// Creates an organization `org` with one fresh RSA key `<org>-key`, straight into D1.
pub fn seed_org(app: &TestApp, org: &str, bits: usize) -> PrivateKey {
    let key = PrivateKey::generate(bits).expect("RSA key");
    app.seed_org_key(
        org,
        &format!("{org}-key"),
        &key.public_key().to_spki_pem(),
        bits,
    );
    key
}

/// A fresh 2048-bit key uploaded to `org` through the API (`POST
/// /organization/{org}/key`, as a member with `token`); returns the key and the 201
/// answer (its `data.id` is the key's id, its headers the bookmark).
pub fn upload_new_key(app: &TestApp, token: &str, org: &str) -> (PrivateKey, crate::TestResponse) {
    let key = PrivateKey::generate(2048).expect("RSA key");
    let uploaded = app.post_json_as(
        token,
        &format!("/organization/{org}/key"),
        &serde_json::json!({"publicKey": key.public_key().to_spki_pem()}),
    );
    assert_eq!(uploaded.status, 201, "{}", uploaded.body);
    (key, uploaded)
}

/// Registration fields for `ip` at `ts_ms` (an S3 node in eu-west-1, version 1.4.2);
/// change any field before signing.
pub fn fields(ip: &str, ts_ms: i64, id_org: Option<&str>) -> SignedFields {
    SignedFields {
        provider: "S3".into(),
        ip: ip.into(),
        status: "active".into(),
        region: "eu-west-1".into(),
        version: "1.4.2".into(),
        timestamp: format_rfc3339_ms(ts_ms),
        id_org: id_org.map(str::to_owned),
        node_services: None,
    }
}

/// The JSON body for `fields` with a given signature (for forged/odd signatures).
pub fn body(f: &SignedFields, signature: &[u8]) -> Value {
    let mut v = json!({
        "provider": f.provider, "ip": f.ip, "status": f.status, "region": f.region,
        "version": f.version, "timestamp": f.timestamp, "signature": STANDARD.encode(signature),
    });
    if let Some(org) = &f.id_org {
        v["id_org"] = json!(org);
    }
    v
}

/// The JSON body for `fields`, signed with `key`.
pub fn signed(key: &PrivateKey, f: &SignedFields) -> Value {
    body(f, &key.sign(f.canonical_message().as_bytes()))
}

/// POSTs a `/register` for `ip` at `ts` signed by `key`, naming `id_org` if given.
pub fn register(
    app: &TestApp,
    key: &PrivateKey,
    ip: &str,
    ts: i64,
    id_org: Option<&str>,
) -> crate::TestResponse {
    app.post_json("/register", &signed(key, &fields(ip, ts, id_org)))
}

/// `/unregister`'s signature: its own message (docs/nodes.md), written out here as a
/// node would, not taken from core, so that a change to the contract fails the tests.
pub fn unregister_signature(key: &PrivateKey, ip: &str, ts_ms: i64, org: &str) -> String {
    let message = format!("gatehouse-node-unregister-v1\n{ip}\n{ts_ms}\n{org}");
    STANDARD.encode(key.sign(message.as_bytes()))
}

/// `/unregister`'s body as docs/nodes.md gives it.
pub fn unregister_body(key: &PrivateKey, ip: &str, ts_ms: i64, org: &str) -> Value {
    json!({"ip": ip, "timestamp": ts_ms, "id_org": org,
           "signature": unregister_signature(key, ip, ts_ms, org)})
}

/// The organizations that hold a node at `ip` (as stored: canonical form), sorted.
pub fn nodes_at(app: &TestApp, ip: &str) -> Vec<String> {
    app.d1_query(&format!(
        "SELECT org_id FROM nodes WHERE ip = '{ip}' ORDER BY org_id"
    ))
    .iter()
    .map(|r| r["org_id"].as_str().unwrap().to_owned())
    .collect()
}

/// The installer's `/register` body (`rollout_node.sh`): `ip|region|timestamp` signed
/// with Unix seconds, provider, status, version and `id_org` unsigned.
pub fn installer_body(key: &PrivateKey, ip: &str, secs: i64, id_org: &str) -> Value {
    let message = format!("{ip}|eu-central-1|{secs}");
    json!({
        "ip": ip, "region": "eu-central-1", "timestamp": secs,
        "signature": STANDARD.encode(key.sign(message.as_bytes())), "id_org": id_org,
        "provider": "AWS", "status": "running", "version": "0.0.28",
    })
}

/// The public directory's answer (`GET /node`, 200): its nodes' addresses, sorted, and
/// the answer itself (for its cost headers).
pub fn directory(app: &TestApp) -> (Vec<String>, crate::TestResponse) {
    let res = app.get("/node");
    assert_eq!(res.status, 200, "{}", res.body);
    let mut ips: Vec<String> = res.json()["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|n| n["ip"].as_str().expect("ip").to_owned())
        .collect();
    ips.sort();
    (ips, res)
}
