//! The operator CLI as a user runs it: its keys and signatures interoperate with
//! openssl, and `register` drives the real worker.

mod common;

use common::{cli, keygen, register, seeded_key, text, FIELDS};
use gatehouse_e2e::spawn_app;
use serde_json::Value;
use std::process::Command;

#[test]
fn a_cli_signature_is_verified_by_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let base = keygen(dir.path());
    let key = format!("{base}.key.pem");
    let mut args = vec!["sign", "--key", &key, "--id-org", "org-1"];
    args.extend(FIELDS);
    let out = cli(&args);
    assert!(out.status.success(), "{}", text(&out));
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();

    // Rebuild the documented canonical message independently of our code.
    let message = [
        "gatehouse-node-register-v1",
        "GCS",
        "192.0.2.99",
        "active",
        "asia-east1",
        "2.0.0",
        body["timestamp"].as_str().unwrap(),
        "org-1",
    ]
    .join("\n");
    let message_path = dir.path().join("message");
    std::fs::write(&message_path, message).unwrap();
    let signature = base64_decode(body["signature"].as_str().unwrap());
    let signature_path = dir.path().join("signature");
    std::fs::write(&signature_path, signature).unwrap();
    let verify = Command::new("openssl")
        .args([
            "dgst",
            "-sha256",
            "-verify",
            &format!("{base}.pub.pem"),
            "-signature",
        ])
        .arg(&signature_path)
        .arg(&message_path)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&verify.stdout).trim(),
        "Verified OK",
        "{}",
        text(&verify)
    );
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

#[test]
fn keygen_writes_a_private_key_only_its_owner_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let base = keygen(dir.path());
    let mode = std::fs::metadata(format!("{base}.key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let pem = std::fs::read_to_string(format!("{base}.pub.pem")).unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    // Never overwrites an existing private key.
    let again = cli(&["keygen", "--out", &base]);
    assert!(!again.status.success());
}

#[test]
fn register_posts_to_the_worker_and_reports_refusals() {
    let app = spawn_app();
    let dir = tempfile::tempdir().unwrap();
    let key = seeded_key(&app, dir.path());
    let out = register(&app.base_url, &key, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("200"), "{}", text(&out));
    let rows = app.d1_query("SELECT provider, org_id, key_id FROM nodes WHERE ip = '192.0.2.99'");
    assert_eq!(rows[0]["key_id"], "key-cli");

    // A fixed old timestamp: the worker refuses it and the CLI exits non-zero.
    let out = register(
        &app.base_url,
        &key,
        &["--timestamp", "2024-01-15T10:30:00.000Z"],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("Timestamp outside the allowed window"),
        "{}",
        text(&out)
    );
}

#[test]
fn the_onboarding_demo_runs_end_to_end() {
    let app = spawn_app();
    // The demo keeps the node's key pair under the temp dir: this test's own, removed
    // afterwards, so a run leaves nothing in /tmp.
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gatehouse-cli"))
        .args(["demo", "--url", &app.base_url])
        .env("TMPDIR", tmp.path())
        .output()
        .expect("run gatehouse-cli demo");
    let output = text(&out);
    assert!(out.status.success(), "{output}");
    for step in [
        "1. Ada signs up",
        "verification email",
        "\"Email verified\"",
        "makes a key pair",
        "uploads the public key",
        "200: {\"message\":\"Registration successful\",\"success\":true}",
        "  S3  active  eu-west-1  v1.0.0  last updated ",
        "200: blob set (",
        "POST /secrets, 200",
        ".env.gcs: GCS_ACCESS_KEY=demo-",
        "POST /register without a provider (run without -p), 200",
        "  UNKNOWN  running  eu-central-1  v0.0.28  last updated ",
        "Reset your password",
        "She signs in with the new password: 200.",
    ] {
        assert!(
            output.contains(step),
            "demo output lacks {step:?}:\n{output}"
        );
    }
    let nodes =
        app.d1_query("SELECT n.ip, o.domain FROM nodes n JOIN organizations o ON o.id = n.org_id");
    assert_eq!(nodes.len(), 2);
    assert!(nodes[0]["domain"].as_str().unwrap().starts_with("demo-"));
}
