//! `gatehouse-cli admin …` as an operator runs it, from the project directory,
//! against the local D1 of a running worker: each command changes what the worker
//! does at once, or shows what it stored.
//!
//! The tests share one worker, with people, organizations and node addresses of
//! their own. Only the ban test bans, so it may count every banned organization (an
//! injected `OR '1'='1'` would ban them all); only the provider test marks a network
//! provider, so the public directory holds its node alone.

mod common;

use common::{admin, node_env_key, ok, stderr};
use gatehouse_e2e::accounts::verified_user;
use gatehouse_e2e::nodes::{fields, now_ms, seed_org, signed};
use gatehouse_e2e::{project_root, shared_app, spawn_app, TestApp};
use serde_json::{json, Value};
use std::process::Command;

/// The tests on the shared worker run one after the other: some read the whole
/// database (how many organizations are banned). Admin commands themselves are kept
/// apart from each other and from the worker's writes by `common::admin` (it holds the
/// harness's requests while one runs).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn ban_and_unban_take_effect_at_once_on_registrations_and_writes() {
    let app = shared_app();
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
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
    assert!(String::from_utf8_lossy(&hostile.stderr).contains("is not an id"));
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
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
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

    // People by email, times as RFC 3339 text, never epoch milliseconds.
    assert_eq!(audit[0]["actor_email"], "ada@provider.acme.io");
    assert_rfc3339(&audit[0]["at"]);
    assert_rfc3339(&shown["organization"]["created_at"]);
    assert_rfc3339(&shown["members"][0]["email_verified_at"]);
    assert_rfc3339(&shown["keys"][0]["created_at"]);
    assert_rfc3339(&shown["nodes"][0]["updated_at"]);
    assert_rfc3339(&shown["trial"]["ends_at"]);
    assert!(
        !format!("{shown}{audit}").contains("_ms\""),
        "no epoch milliseconds: {shown} {audit}"
    );
}

fn assert_rfc3339(value: &Value) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{value} is not text"));
    assert!(
        gatehouse_core::time::parse_rfc3339_ms(text).is_some(),
        "{text} is not RFC 3339"
    );
}

#[test]
fn find_org_by_email_also_from_outside_the_project_with_wrangler_set() {
    let app = spawn_app();
    let (_, org, _) = verified_user(&app, "ada@acme.io");
    let root = project_root();
    let elsewhere = tempfile::tempdir().unwrap();
    let persist = app.persist_dir();
    let find = |email: &str, wrangler: &std::path::Path| {
        app.with_database_to_itself(|| {
            Command::new(env!("CARGO_BIN_EXE_gatehouse-cli"))
                .current_dir(elsewhere.path())
                // No Node on PATH but the system's: WRANGLER's own directory supplies it.
                .env("PATH", "/usr/local/bin:/usr/bin:/bin")
                .env("WRANGLER", wrangler)
                .args(["admin", "find-org", email, "--local", "--persist-to"])
                .arg(&persist)
                .arg("--config")
                .arg(root.join("wrangler.toml"))
                .output()
                .unwrap()
        })
    };
    let wrangler = root.join("node_modules/.bin/wrangler");
    let found: Value = serde_json::from_str(&ok(&find("Ada@ACME.io", &wrangler))).unwrap();
    assert_eq!(found["email"], "ada@acme.io");
    assert_eq!(found["memberOf"][0]["id"], org.as_str());
    assert_eq!(found["memberOf"][0]["role"], "OWNER");
    assert_rfc3339(&found["memberOf"][0]["member_since"]);
    assert_eq!(
        found["domainClaimedBy"]["id"],
        org.as_str(),
        "verified: acme.io is claimed"
    );

    let nobody: Value = serde_json::from_str(&ok(&find("bob@nowhere.example", &wrangler))).unwrap();
    assert_eq!(nobody["memberOf"], json!([]));
    assert_eq!(nobody["domainClaimedBy"], Value::Null);
    assert_eq!(nobody["signUpsBlockedBy"], Value::Null);

    let not_email = find("bob", &wrangler);
    assert_eq!(not_email.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&not_email.stderr).contains("\"bob\" is not an email address"));
    let missing = find("ada@acme.io", &elsewhere.path().join("wrangler"));
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("set WRANGLER="));
}

#[test]
fn operators_set_list_and_delete_service_environments_the_worker_serves() {
    use gatehouse_e2e::node_env::{installer_decrypt, post_secrets, secrets_payload};
    let app = shared_app();
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (token, org, _) = verified_user(app, "ada@node-env.acme.io");
    let key = gatehouse_core::crypto::rsa_keys::PrivateKey::generate(2048).unwrap();
    let upload = app.post_json_as(
        &token,
        &format!("/organization/{org}/key"),
        &json!({"publicKey": key.public_key().to_spki_pem()}),
    );
    assert_eq!(upload.status, 201, "{}", upload.body);
    let dir = tempfile::tempdir().unwrap();
    let key_hex = node_env_key();
    for service in ["s3", "gcs", "blob"] {
        let file = dir.path().join(format!("{service}.env"));
        std::fs::write(&file, format!("{service}=set by the operator\n")).unwrap();
        let out = admin(
            app,
            &[
                "node-env-set",
                &org,
                service,
                "--file",
                file.to_str().unwrap(),
                "--node-env-key",
                &key_hex,
                "--url",
                &app.url(""),
            ],
        );
        assert!(ok(&out).contains(&format!("{service} environment set")));
    }
    let listed: Value = serde_json::from_str(&ok(&admin(app, &["node-env-list", &org]))).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(3), "{listed}");
    assert!(
        !listed.to_string().contains("operator"),
        "never the contents"
    );

    // The worker opens what the operator sealed, and serves it to the installer.
    let pem = key.to_pkcs8_pem();
    let seconds = now_ms() / 1000;
    let res = post_secrets(
        app,
        &secrets_payload(&pem, "192.0.2.42", "eu-west-1", &org, seconds),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    let gcs = installer_decrypt(&res.body, &pem, "gcs").unwrap();
    assert_eq!(gcs, b"gcs=set by the operator\n");

    // Wrong key, unknown service, unknown organization: refused, nothing written.
    let wrong = admin(
        app,
        &[
            "node-env-set",
            &org,
            "s3",
            "--file",
            "/dev/null",
            "--node-env-key",
            "abc",
            "--no-worker-check",
        ],
    );
    assert!(!wrong.status.success());
    // A well-formed key that is not the worker's: the worker's /health says so before
    // anything is sealed (what it sealed would answer 500 to the installer).
    let another_key: String = key_hex.chars().rev().collect();
    let changed = dir.path().join("changed.env");
    std::fs::write(&changed, "s3=not what the worker opens\n").unwrap();
    let s3_before = app.d1_query(&format!(
        "SELECT sealed FROM node_envs WHERE org_id = '{org}' AND service = 's3'"
    ));
    let not_the_workers = admin(
        app,
        &[
            "node-env-set",
            &org,
            "s3",
            "--file",
            changed.to_str().unwrap(),
            "--node-env-key",
            &another_key,
            "--url",
            &app.url("/"),
        ],
    );
    assert_eq!(not_the_workers.status.code(), Some(1));
    assert!(
        stderr(&not_the_workers).contains("holds another NODE_ENV_KEY"),
        "{}",
        stderr(&not_the_workers)
    );
    assert_eq!(
        app.d1_query(&format!(
            "SELECT sealed FROM node_envs WHERE org_id = '{org}' AND service = 's3'"
        )),
        s3_before,
        "nothing written"
    );
    let unknown = admin(app, &["node-env-delete", &org, "ftp"]);
    assert!(!unknown.status.success());
    ok(&admin(app, &["node-env-delete", &org, "blob"]));
    assert!(
        !admin(app, &["node-env-delete", &org, "blob"])
            .status
            .success(),
        "already gone"
    );
    let audit: Value =
        serde_json::from_str(&ok(&admin(app, &["key-audit", "--org", &org]))).unwrap();
    let env_rows: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"].as_str().unwrap().starts_with("ENV_"))
        .collect();
    assert_eq!(env_rows.len(), 4, "{audit}");
    assert_eq!(env_rows[0]["action"], "ENV_DELETE");
    assert!(
        env_rows.iter().all(|r| r["actor_user_id"].is_null()),
        "operators have no user"
    );
}
