//! The node's and the organization owner's commands against the real worker:
//! `register` with the client's fields, over HTTPS too, `unregister`, `upload-key`.

mod common;

use common::tls::tls_front;
use common::{
    assert_refused, cli, cli_with, keygen, now_seconds, register, register_args, seeded_key,
    stderr, text,
};
use gatehouse_e2e::accounts::verified_user;
use gatehouse_e2e::spawn_app;
use serde_json::Value;
use std::process::Output;

/// The answer's JSON, which must be all of stdout (`| jq` works), and the status,
/// which is on stderr.
fn answer(out: &Output, status: u16) -> Value {
    assert!(
        stderr(out).contains(&format!("HTTP {status}")),
        "{}",
        text(out)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON only ({e}): {}", text(out)))
}

#[test]
fn register_sends_node_services_and_integer_timestamps_and_unregister_removes() {
    let app = spawn_app();
    let dir = tempfile::tempdir().unwrap();
    let key = seeded_key(&app, dir.path());
    let seconds = now_seconds().to_string();
    let out = register(
        &app.base_url,
        &key,
        &["--node-services", "5", "--timestamp", &seconds],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(answer(&out, 200)["message"], "Registration successful");
    let rows = app.d1_query("SELECT node_services, org_id FROM nodes WHERE ip = '192.0.2.99'");
    assert_eq!(rows[0]["node_services"], 5);

    let unregister = |ip: &str| {
        cli(&[
            "unregister",
            "--url",
            &app.base_url,
            "--key",
            &key,
            "--ip",
            ip,
            "--id-org",
            "org-cli",
        ])
    };
    let out = unregister("192.0.2.99");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(answer(&out, 200)["message"], "Node unregistered");
    assert!(app.d1_query("SELECT ip FROM nodes").is_empty());

    let again = unregister("192.0.2.99");
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(answer(&again, 404)["message"], "Node not found");
    assert!(stderr(&again).contains("unregistration refused (HTTP 404)"));
}

#[test]
fn register_reaches_a_worker_over_https_trusting_the_given_ca() {
    let app = spawn_app();
    let front = tls_front(&app.base_url);
    let dir = tempfile::tempdir().unwrap();
    let key = seeded_key(&app, dir.path());
    let args = register_args(&front.url, &key, &[]);

    // Without the CA the certificate is not trusted: TLS is on and it verifies.
    let untrusted = register(&front.url, &key, &[]);
    assert_eq!(untrusted.status.code(), Some(1));
    let err = stderr(&untrusted);
    assert!(err.contains("UnknownIssuer"), "{err}");
    assert!(!err.contains("no TLS backend"), "{err}");
    assert!(app.d1_query("SELECT ip FROM nodes").is_empty());

    let ca = front.ca_cert.to_str().unwrap();
    let out = register(&front.url, &key, &["--ca-cert", ca]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(answer(&out, 200)["success"], true);
    let rows = app.d1_query("SELECT key_id FROM nodes WHERE ip = '192.0.2.99'");
    assert_eq!(rows[0]["key_id"], "key-cli");

    // The same through GATEHOUSE_CA_CERT.
    let out = cli_with(&args, &[("GATEHOUSE_CA_CERT", ca)], None);
    assert!(out.status.success(), "{}", text(&out));

    // A file with no certificate in it is refused before anything is sent.
    let bad = register(&front.url, &key, &["--ca-cert", &key]);
    assert_refused(&bad, 1, "no certificate in it");
}

#[test]
fn upload_key_signs_in_by_password_or_token() {
    let app = spawn_app();
    let (token, org, _) = verified_user(&app, "ada@acme.io");
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<String> = (0..3)
        .map(|i| {
            let sub = dir.path().join(i.to_string());
            std::fs::create_dir(&sub).unwrap();
            format!("{}.pub.pem", keygen(&sub))
        })
        .collect();
    let upload = |key: &str, extra: &[&str], env: &[(&str, &str)], stdin: Option<&str>| {
        let mut args = vec!["upload-key", "--url", &app.base_url, "--public-key", key];
        args.extend(extra);
        cli_with(&args, env, stdin)
    };

    // Email and password (from the environment); the organization is the user's own.
    let out = upload(
        &keys[0],
        &["--email", "ada@acme.io"],
        &[("GATEHOUSE_PASSWORD", "Correct1horse")],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(answer(&out, 201)["data"]["id"].is_string());
    // The password on stdin.
    let out = upload(
        &keys[1],
        &["--email", "ada@acme.io"],
        &[],
        Some("Correct1horse\n"),
    );
    assert!(out.status.success(), "{}", text(&out));
    // A token and an explicit organization.
    let out = upload(&keys[2], &["--token", &token, "--org", &org], &[], None);
    assert!(out.status.success(), "{}", text(&out));
    let stored = app.d1_query(&format!(
        "SELECT count(*) AS n FROM org_keys WHERE org_id = '{org}'"
    ));
    assert_eq!(stored[0]["n"], 3);

    // A wrong password: refused at sign-in, with the worker's words.
    let out = upload(
        &keys[0],
        &["--email", "ada@acme.io"],
        &[("GATEHOUSE_PASSWORD", "wrong")],
        None,
    );
    assert_refused(&out, 1, "signing in as ada@acme.io refused (HTTP 401)");
    // The same key again: the worker's 409, exit 1.
    let out = upload(&keys[2], &["--token", &token], &[], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(answer(&out, 409)["error_code"], "KEY_EXISTS");
    // Neither --email nor --token: a usage error naming both.
    let out = upload(&keys[0], &[], &[], None);
    assert_refused(&out, 2, "--email");
}
