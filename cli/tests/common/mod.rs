//! What the CLI's test files share: running the binary as a user does, and a node key
//! pair made by it.

#![allow(dead_code)] // each test file uses its own part

pub mod tls;

use gatehouse_e2e::TestApp;
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub fn cli(args: &[&str]) -> Output {
    cli_with(args, &[], None)
}

/// Runs the CLI with extra environment variables and, optionally, text on stdin.
pub fn cli_with(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse-cli"))
        .args(args)
        // Only what the test gives: nothing from the environment it runs in.
        .env_remove("GATEHOUSE_CA_CERT")
        .env_remove("GATEHOUSE_TOKEN")
        .env_remove("GATEHOUSE_PASSWORD")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gatehouse-cli");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .expect("write stdin");
    drop(input);
    child.wait_with_output().expect("gatehouse-cli output")
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `gatehouse-cli keygen` into `dir`; the stem of `node.key.pem` and `node.pub.pem`.
pub fn keygen(dir: &Path) -> String {
    let base = dir.join("node");
    let out = cli(&["keygen", "--bits", "2048", "--out", base.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    base.to_str().unwrap().to_owned()
}

/// A key pair in `dir` whose public half is org-cli's key; the private key's path.
pub fn seeded_key(app: &TestApp, dir: &std::path::Path) -> String {
    let base = keygen(dir);
    let pem = std::fs::read_to_string(format!("{base}.pub.pem")).unwrap();
    app.seed_org_key("org-cli", "key-cli", &pem, 2048);
    format!("{base}.key.pem")
}

pub const FIELDS: [&str; 10] = [
    "--provider",
    "GCS",
    "--ip",
    "192.0.2.99",
    "--status",
    "active",
    "--region",
    "asia-east1",
    "--version",
    "2.0.0",
];

pub fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The CLI exited with `code` and said `needle` on stderr.
pub fn assert_refused(out: &Output, code: i32, needle: &str) {
    assert_eq!(out.status.code(), Some(code), "{}", text(out));
    assert!(
        stderr(out).contains(needle),
        "no {needle:?} in: {}",
        text(out)
    );
}

/// `register` of the FIELDS node into org-cli at `url` with `key`, plus `extra` flags.
pub fn register(url: &str, key: &str, extra: &[&str]) -> Output {
    cli(&register_args(url, key, extra))
}

pub fn register_args<'a>(url: &'a str, key: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "register", "--url", url, "--key", key, "--id-org", "org-cli",
    ];
    args.extend(FIELDS);
    args.extend(extra);
    args
}

/// `gatehouse-cli admin ARGS --local` as an operator runs it from the project
/// directory, against the local D1 of `app`'s running worker. The database is the
/// command's meanwhile (no request of the harness, no SQL of another test): neither
/// the command's D1 nor the worker's waits for a lock.
pub fn admin(app: &TestApp, args: &[&str]) -> Output {
    app.with_database_to_itself(|| {
        Command::new(env!("CARGO_BIN_EXE_gatehouse-cli"))
            .current_dir(gatehouse_e2e::project_root())
            .arg("admin")
            .args(args)
            .args(["--local", "--persist-to"])
            .arg(app.persist_dir())
            .env("TMPDIR", app.tmp_dir())
            .output()
            .expect("run gatehouse-cli admin")
    })
}

/// The `n` of a `SELECT count(*) AS n …` on `app`'s D1.
pub fn count(app: &TestApp, sql: &str) -> u64 {
    app.d1_query(sql)[0]["n"].as_u64().unwrap()
}

/// The worker's own NODE_ENV_KEY, from the .dev.vars it runs with.
pub fn node_env_key() -> String {
    gatehouse_e2e::dev_var("NODE_ENV_KEY")
}

/// What a command that must succeed printed on stdout.
pub fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}{}", stderr(out));
    stdout
}
