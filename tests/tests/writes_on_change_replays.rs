//! What writes only on change must not open (SECURITY.md, "Threat model", Replay): a
//! heartbeat answered unwritten is still a fresh signature, newer than the stored row,
//! so whoever saw it could send it again. The ways that would have mattered, each held
//! here with D1 alone deciding (`REPLAY_NONCES=d1`: no KV nonce answers first; in the
//! default mode KV refuses these earlier still, except at a location it has not reached):
//! the installer's form, whose signature leaves status, version, provider and services
//! unsigned; a node a manager removed; and the installer's `POST /secrets`, which signs
//! the same `ip|region|timestamp` as its `/register`.

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::accounts::verified_user;
use gatehouse_e2e::node_env::{post_secrets, secrets_payload, set_all_envs};
use gatehouse_e2e::nodes::{fields, installer_body, now_ms, seed_org, signed, upload_new_key};
use gatehouse_e2e::{spawn_app_with, TestApp};
use serde_json::{json, Value};

const SECONDS: i64 = 1000;

fn d1_alone() -> TestApp {
    spawn_app_with(&[("REPLAY_NONCES", "d1")])
}

fn node_row(app: &TestApp, org: &str, ip: &str) -> Vec<Value> {
    app.d1_query(&format!(
        "SELECT status, version, last_signed_at_ms FROM nodes WHERE org_id = '{org}' AND ip = '{ip}'"
    ))
}

#[test]
fn an_installer_heartbeat_is_always_written_so_its_unsigned_fields_cannot_be_replaced() {
    let app = d1_alone();
    let key = seed_org(&app, "org-inst", 2048);
    let ip = "198.51.100.120";
    let t0 = now_ms() / 1000 - 60;
    assert_eq!(
        app.post_json("/register", &installer_body(&key, ip, t0, "org-inst"))
            .status,
        200
    );
    // The same node, nothing changed, ten seconds later: written all the same.
    let heartbeat = installer_body(&key, ip, t0 + 10, "org-inst");
    let res = app.post_json("/register", &heartbeat);
    assert_eq!(res.status, 200, "{}", res.body);
    assert_ne!(
        res.header("x-gatehouse-d1-rows-written"),
        Some("0"),
        "an installer-form heartbeat is written"
    );
    let before = node_row(&app, "org-inst", ip);
    assert_eq!(before[0]["last_signed_at_ms"], json!((t0 + 10) * 1000));

    // Someone who saw it sends it again with other unsigned values.
    let mut forged = heartbeat.clone();
    forged["status"] = json!("maintenance");
    forged["version"] = json!("6.6.6");
    let replay = app.post_json("/register", &forged);
    assert_eq!(replay.status, 400, "{}", replay.body);
    assert!(replay.body.contains("Replay detected"), "{}", replay.body);
    assert_eq!(node_row(&app, "org-inst", ip), before, "nothing changed");
}

#[test]
fn an_unchanged_heartbeat_replayed_after_a_managers_removal_does_not_bring_the_node_back() {
    let app = d1_alone();
    let (token, org, _) = verified_user(&app, "ada@removal.acme.io");
    let (key, _) = upload_new_key(&app, &token, &org);
    let ip = "198.51.100.121";
    let t0 = now_ms() - 60 * SECONDS;
    let first = app.post_json("/register", &signed(&key, &fields(ip, t0, Some(&org))));
    assert_eq!(first.status, 200, "{}", first.body);
    // Unchanged and within the resolution: answered, not written (the v1 form signs
    // every field, so it may go unwritten).
    let unchanged = signed(&key, &fields(ip, t0 + 10 * SECONDS, Some(&org)));
    let res = app.post_json("/register", &unchanged);
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.header("x-gatehouse-d1-rows-written"), Some("0"));

    let removed = app.request_as(
        &token,
        "DELETE",
        &format!("/organization/{org}/node/{ip}"),
        None,
    );
    assert_eq!(removed.status, 200, "{}", removed.body);
    let replay = app.post_json("/register", &unchanged);
    assert_eq!(replay.status, 400, "{}", replay.body);
    assert!(
        node_row(&app, &org, ip).is_empty(),
        "the node stays removed"
    );
    // The node's own next heartbeat, signed after the removal, registers it anew.
    let next = app.post_json(
        "/register",
        &signed(&key, &fields(ip, now_ms() + SECONDS, Some(&org))),
    );
    assert_eq!(next.status, 200, "{}", next.body);
}

#[test]
fn a_captured_secrets_request_never_registers_the_node_on_either_path() {
    let app = d1_alone();
    let (token, org, _) = verified_user(&app, "ops@captured.replays.example");
    set_all_envs(&app, &token, &org);
    let key = PrivateKey::generate(2048).expect("RSA key");
    app.seed_org_key(&org, "captured-key", &key.public_key().to_spki_pem(), 2048);
    let pem = key.to_pkcs8_pem();
    // Whoever saw the installer's /secrets request sends its body to /register, with
    // unsigned fields of their choosing.
    let forged = |payload: &str| {
        let mut body: Value = serde_json::from_str(payload).expect("payload");
        body["provider"] = json!("AWS");
        body["status"] = json!("maintenance");
        body["version"] = json!("6.6.6");
        body
    };
    let ip = "198.51.100.130";
    let t0 = now_ms() / 1000 - 60;

    // A new node (the cold path's insert).
    let install = secrets_payload(&pem, ip, "eu-central-1", &org, t0);
    assert_eq!(post_secrets(&app, &install).status, 200);
    let res = app.post_json("/register", &forged(&install));
    assert_eq!(res.status, 400, "{}", res.body);
    assert!(res.body.contains("Replay detected"), "{}", res.body);
    assert_eq!(res.header("x-gatehouse-d1-primary"), Some("2"), "cold path");
    assert!(node_row(&app, &org, ip).is_empty(), "not registered");
    // The installer's own /register, signed after its /secrets: accepted.
    let own = app.post_json("/register", &installer_body(&key, ip, t0 + 5, &org));
    assert_eq!(own.status, 200, "{}", own.body);

    // The node again (re-installed), now known to this isolate (the warm path's update).
    let reinstall = secrets_payload(&pem, ip, "eu-central-1", &org, t0 + 10);
    assert_eq!(post_secrets(&app, &reinstall).status, 200);
    let before = node_row(&app, &org, ip);
    let res = app.post_json("/register", &forged(&reinstall));
    assert_eq!(res.status, 400, "{}", res.body);
    assert!(res.body.contains("Replay detected"), "{}", res.body);
    assert_eq!(res.header("x-gatehouse-d1-primary"), Some("1"), "warm path");
    assert_eq!(node_row(&app, &org, ip), before, "nothing changed");
    let own = app.post_json("/register", &installer_body(&key, ip, t0 + 15, &org));
    assert_eq!(own.status, 200, "{}", own.body);
}
