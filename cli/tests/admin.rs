//! `gatehouse-cli admin …` as an operator runs it, from the project directory,
//! against the local D1 of a running worker: each command changes what the worker
//! does at once, or shows what it stored.
//!
//! Both tests share one worker, with people, organizations and node addresses of
//! their own. Only the ban test bans, so it may count every banned organization (an
//! injected `OR '1'='1'` would ban them all); only the provider test marks a network
//! provider, so the public directory holds its node alone.

use gatehouse_e2e::accounts::verified_user;
use gatehouse_e2e::nodes::{fields, now_ms, seed_org, signed};
use gatehouse_e2e::{project_root, shared_app, TestApp};
use serde_json::{json, Value};
use std::process::{Command, Output};

fn admin(app: &TestApp, args: &[&str]) -> Output {
    let persist = app.persist_dir();
    Command::new(env!("CARGO_BIN_EXE_gatehouse-cli"))
        .current_dir(project_root())
        .arg("admin")
        .args(args)
        .args(["--local", "--persist-to"])
        .arg(&persist)
        .env("TMPDIR", app.tmp_dir())
        .output()
        .expect("run gatehouse-cli admin")
}

fn ok(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn ban_and_unban_take_effect_at_once_on_registrations_and_writes() {
    let app = shared_app();
    let key = seed_org(app, "org-a", 2048);
    let ts = now_ms();
    let register = |ts: i64, id_org: Option<&str>| {
        app.post_json(
            "/register",
            &signed(&key, &fields("192.0.2.40", ts, id_org)),
        )
    };
    assert_eq!(register(ts, Some("org-a")).status, 200);
    assert_eq!(register(ts + 1, None).status, 200, "warm path");

    let out = ok(&admin(app, &["ban", "org-a"]));
    assert!(out.contains("org-a banned"), "{out}");
    let refused = register(ts + 2, None);
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.json()["message"], "Unknown or banned organization");

    // A member's write (a new key) is refused too.
    let (token, org, _) = verified_user(app, "ada@banned.acme.io");
    ok(&admin(app, &["ban", &org]));
    let pem = gatehouse_core::crypto::rsa_keys::PrivateKey::generate(2048)
        .unwrap()
        .public_key()
        .to_spki_pem();
    let upload = app.post_json_as(
        &token,
        &format!("/organization/{org}/key"),
        &json!({"publicKey": pem}),
    );
    assert_eq!(upload.status, 403, "{}", upload.body);
    assert_eq!(upload.json()["error_code"], "ORG_BANNED");

    ok(&admin(app, &["unban", "org-a"]));
    assert_eq!(register(ts + 3, None).status, 200);

    // Unknown organization, hostile id, no target: clear errors, nothing run.
    let unknown = admin(app, &["ban", "org-nope"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no organization \"org-nope\""));
    let hostile = admin(app, &["ban", "x' OR '1'='1"]);
    assert!(!hostile.status.success());
    assert!(String::from_utf8_lossy(&hostile.stderr).contains("is not an organization id"));
    assert_eq!(
        app.d1_query("SELECT count(*) AS n FROM organizations WHERE banned = 1")[0]["n"],
        1
    );
    let nowhere = Command::new(env!("CARGO_BIN_EXE_gatehouse-cli"))
        .args(["admin", "ban", "org-a"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&nowhere.stderr).contains("--local"));
}

#[test]
fn provider_marks_show_org_and_key_audit() {
    let app = shared_app();
    let (token, org, _) = verified_user(app, "ada@provider.acme.io");
    let key = gatehouse_core::crypto::rsa_keys::PrivateKey::generate(2048).unwrap();
    let upload = app.post_json_as(
        &token,
        &format!("/organization/{org}/key"),
        &json!({"publicKey": key.public_key().to_spki_pem()}),
    );
    assert_eq!(upload.status, 201, "{}", upload.body);
    let key_id = upload.json()["data"]["id"].as_str().unwrap().to_owned();
    let registered = app.post_json(
        "/register",
        &signed(&key, &fields("192.0.2.41", now_ms(), Some(&org))),
    );
    assert_eq!(registered.status, 200, "{}", registered.body);

    let listed = |app: &TestApp| app.get("/node").json()["data"].as_array().unwrap().len();
    assert_eq!(listed(app), 0, "not a network provider yet");
    ok(&admin(app, &["mark-provider", &org]));
    assert_eq!(listed(app), 1);
    ok(&admin(app, &["unmark-provider", &org]));
    assert_eq!(listed(app), 0);

    let shown: Value = serde_json::from_str(&ok(&admin(app, &["show-org", &org]))).unwrap();
    assert_eq!(shown["organization"]["id"], org.as_str());
    assert_eq!(shown["organization"]["banned"], 0);
    assert_eq!(shown["members"][0]["email"], "ada@provider.acme.io");
    assert_eq!(shown["members"][0]["role"], "OWNER");
    assert_eq!(shown["keys"][0]["id"], key_id.as_str());
    assert_eq!(shown["nodes"][0]["ip"], "192.0.2.41");
    assert_eq!(shown["trial"]["plan"], "FREE_TRIAL");
    assert!(
        !shown.to_string().contains("password"),
        "no hashes in the operator's view"
    );

    let revoke = app.request_as(
        &token,
        "DELETE",
        &format!("/organization/{org}/key/{key_id}"),
        None,
    );
    assert_eq!(revoke.status, 200, "{}", revoke.body);
    let audit: Value = serde_json::from_str(&ok(&admin(
        app,
        &["key-audit", "--org", &org, "--limit", "10"],
    )))
    .unwrap();
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["REVOKE", "CREATE"], "newest first");
    assert_eq!(audit[0]["key_id"], key_id.as_str());
}
