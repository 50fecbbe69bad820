//! Organization keys and nodes through the HTTP API: both key modes, roles, quota,
//! listing, revocation (and its effect on /register), audit rows.
//!
//! Tests with an organization and node addresses of their own share one worker; the
//! quota test has its own (another ORGKEYS_MAX).

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::accounts::{assert_error, sign_up, verified_user, verify_by_email};
use gatehouse_e2e::nodes::{fields, now_ms, signed};
use gatehouse_e2e::{shared_app, spawn_app_with, TestApp};
use serde_json::{json, Value};

fn register_node(app: &TestApp, key: &PrivateKey, org: &str, ip: &str, ts: i64) -> u16 {
    let mut f = fields(ip, ts, Some(org));
    (f.provider, f.region, f.version) = ("AZURE".into(), "westeurope".into(), "3.1".into());
    app.post_json("/register", &signed(key, &f)).status
}

fn upload(app: &TestApp, token: &str, org: &str, key: &PrivateKey) -> Value {
    let res = app.post_json_as(
        token,
        &format!("/organization/{org}/key"),
        &json!({"publicKey": key.public_key().to_spki_pem()}),
    );
    assert_eq!(res.status, 201, "{}", res.body);
    res.json()["data"].clone()
}

#[test]
fn upload_list_register_revoke_and_audit() {
    let app = shared_app();
    let (token, org, owner) = verified_user(app, "ada@upload.acme.io");
    let key = PrivateKey::generate(2048).unwrap();
    let first = upload(app, &token, &org, &key);
    let second = upload(app, &token, &org, &PrivateKey::generate(3072).unwrap());

    assert_eq!(
        register_node(app, &key, &org, "198.51.100.10", now_ms()),
        200
    );
    let listing = app.request_as(&token, "GET", &format!("/organization/{org}/key"), None);
    assert_eq!(listing.status, 200, "{}", listing.body);
    let keys = listing.json()["data"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["id"], second["id"], "newest first");
    assert!(keys[1]["publicKey"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN PUBLIC KEY-----"));
    assert!(!listing.body.contains("PRIVATE"), "public keys only");
    assert_eq!(
        keys[1]["nodeKeys"],
        json!([{"keyId": first["id"], "nodeId": "198.51.100.10"}])
    );
    assert_eq!(keys[0]["nodeKeys"], json!([]));

    let nodes = app
        .request_as(&token, "GET", &format!("/organization/{org}/nodes"), None)
        .json();
    let node = &nodes["data"][0];
    assert_eq!(
        (
            node["provider"].as_str(),
            node["region"].as_str(),
            node["version"].as_str()
        ),
        (Some("AZURE"), Some("westeurope"), Some("3.1"))
    );
    assert_eq!(node["keyId"], first["id"]);
    assert!(node["lastUpdated"].as_str().unwrap().ends_with('Z'));

    let revoke = app.request_as(
        &token,
        "DELETE",
        &format!("/organization/{org}/key/{}", first["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(revoke.status, 200, "{}", revoke.body);
    assert_eq!(
        register_node(app, &key, &org, "198.51.100.10", now_ms() + 1),
        400,
        "a revoked key no longer registers nodes"
    );
    assert_eq!(
        register_node(app, &key, &org, "198.51.100.11", now_ms() + 2),
        400
    );
    let again = app.request_as(
        &token,
        "DELETE",
        &format!("/organization/{org}/key/{}", first["id"].as_str().unwrap()),
        None,
    );
    assert_error(&again, 404, "NOT_FOUND");
    let remaining = app
        .request_as(&token, "GET", &format!("/organization/{org}/key"), None)
        .json();
    assert_eq!(remaining["data"].as_array().unwrap().len(), 1);

    let audit = app.d1_query(&format!("SELECT action, key_id, actor_user_id FROM key_audit WHERE org_id = '{org}' ORDER BY at_ms, action"));
    let actions: Vec<&str> = audit
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["CREATE", "CREATE", "REVOKE"]);
    assert!(audit
        .iter()
        .all(|r| r["actor_user_id"] == owner["user"]["id"]));
    assert_eq!(audit[2]["key_id"], first["id"]);
}

#[test]
fn generated_keys_return_the_private_half_once() {
    let app = shared_app();
    let (token, org, _) = verified_user(app, "ada@generated.acme.io");
    let auth = format!("Bearer {token}");
    let res = app.request(
        "POST",
        &format!("/organization/{org}/key"),
        &[
            ("authorization", &auth),
            ("accept", "application/x-pem-file"),
        ],
        None,
    );
    assert_eq!(res.status, 201, "{}", res.body);
    assert_eq!(res.header("content-type"), Some("application/x-pem-file"));
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let key_id = res.header("x-gatehouse-key-id").unwrap().to_owned();
    let private = PrivateKey::from_pem(&res.body).expect("a PKCS#8 private key");
    assert_eq!(private.public_key().bits(), 2048);

    let stored = app.d1_query(&format!(
        "SELECT public_key_pem FROM org_keys WHERE id = '{key_id}'"
    ));
    assert_eq!(
        stored[0]["public_key_pem"],
        private.public_key().to_spki_pem()
    );
    assert!(!app
        .d1_query("SELECT * FROM org_keys")
        .iter()
        .any(|r| r.to_string().contains("PRIVATE")));
    assert_eq!(
        register_node(app, &private, &org, "203.0.113.50", now_ms()),
        200,
        "the generated key signs registrations"
    );
}

#[test]
fn roles_verification_organization_and_quota_are_enforced() {
    let app = spawn_app_with(&[("ORGKEYS_MAX", "2")]);
    let (owner_token, org, _) = verified_user(&app, "ada@acme.io");
    let path = format!("/organization/{org}/key");
    let key =
        || json!({"publicKey": PrivateKey::generate(2048).unwrap().public_key().to_spki_pem()});

    // A colleague joins as MEMBER: may read, may not write; promoted, may write.
    let (member_token, member_org, member) = verified_user(&app, "charles@acme.io");
    assert_eq!(member_org, org);
    assert_error(
        &app.post_json_as(&member_token, &path, &key()),
        403,
        "FORBIDDEN",
    );
    assert_eq!(
        app.request_as(&member_token, "GET", &path, None).status,
        200
    );
    let member_id = member["user"]["id"].as_str().unwrap();
    app.d1_query(&format!(
        "UPDATE org_members SET role = 'ADMINISTRATOR' WHERE user_id = '{member_id}'"
    ));
    assert_eq!(
        app.post_json_as(&member_token, &path, &key()).status,
        201,
        "ADMINISTRATOR may add keys"
    );

    // Unverified owner of another org, then a verified stranger.
    let unverified = sign_up(&app, "grace@navy.mil");
    let own_path = format!(
        "/organization/{}/key",
        unverified["user"]["orgId"].as_str().unwrap()
    );
    assert_error(
        &app.post_json_as(
            unverified["accessToken"].as_str().unwrap(),
            &own_path,
            &key(),
        ),
        403,
        "EMAIL_NOT_VERIFIED",
    );
    verify_by_email(&app, "grace@navy.mil");
    let grace = unverified["accessToken"].as_str().unwrap();
    assert_error(&app.post_json_as(grace, &path, &key()), 403, "FORBIDDEN");
    assert_error(&app.request_as(grace, "GET", &path, None), 403, "FORBIDDEN");
    assert_error(
        &app.request_as(grace, "GET", &format!("/organization/{org}/nodes"), None),
        403,
        "FORBIDDEN",
    );
    assert_error(
        &app.request_as(grace, "DELETE", &format!("{path}/anything"), None),
        403,
        "FORBIDDEN",
    );
    assert_error(&app.request("GET", &path, &[], None), 401, "UNAUTHORIZED");

    assert_eq!(app.post_json_as(&owner_token, &path, &key()).status, 201);
    let full = app.post_json_as(&owner_token, &path, &key());
    assert_error(&full, 400, "QUOTA_EXCEEDED");
    assert!(full.json()["message"]
        .as_str()
        .unwrap()
        .contains("at most 2"));
    assert_error(
        &app.post_json_as(&owner_token, &path, &json!({"publicKey": "nonsense"})),
        400,
        "INVALID_INPUT",
    );
    assert_error(
        &app.post_json_as(&owner_token, &path, &json!({})),
        400,
        "INVALID_INPUT",
    );
}

/// What people paste instead of a public key gets an answer that names it: a private
/// key above all (never to be uploaded), a certificate, an OpenSSH key.
#[test]
fn wrong_kinds_of_key_are_named_with_what_to_send_instead() {
    let app = shared_app();
    let (token, org, _) = verified_user(app, "ada@wrong-keys.example");
    let private = PrivateKey::generate(2048).unwrap().to_pkcs8_pem();
    for (sent, says) in [
        (
            private.as_str(),
            "publicKey: this is a PRIVATE key: never upload it",
        ),
        (
            "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ ada@laptop",
            "publicKey: this is an OpenSSH public key",
        ),
        (
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            "publicKey: this is an X.509 certificate",
        ),
    ] {
        let res = app.post_json_as(
            &token,
            &format!("/organization/{org}/key"),
            &json!({ "publicKey": sent }),
        );
        assert_error(&res, 400, "INVALID_INPUT");
        let message = res.json()["message"].as_str().unwrap().to_owned();
        assert!(message.starts_with(says), "{message}");
    }
    // The PEM file itself as the body (curl --data @key.pub.pem): named, with the fix.
    let auth = format!("Bearer {token}");
    let raw = app.request(
        "POST",
        &format!("/organization/{org}/key"),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        Some(
            PrivateKey::generate(2048)
                .unwrap()
                .public_key()
                .to_spki_pem()
                .as_bytes(),
        ),
    );
    assert_error(&raw, 400, "INVALID_INPUT");
    assert!(
        raw.json()["message"]
            .as_str()
            .unwrap()
            .contains("--rawfile"),
        "{}",
        raw.body
    );
    let listed = app.request_as(&token, "GET", &format!("/organization/{org}/key"), None);
    assert_eq!(listed.json()["data"], json!([]));
}
