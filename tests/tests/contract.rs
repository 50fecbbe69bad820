//! Contract: schemathesis (PyPI, pinned in tests/contract/requirements.txt) generates
//! requests from the worker's own `/openapi.json` and sends them to the running
//! worker; every check must pass — no 5xx, only documented status codes, headers and
//! content types, every response body matching its schema, invalid data refused.
//! Exceptions are per operation and explained in tests/contract/schemathesis.toml.

use gatehouse_e2e::accounts::verified_user;
use gatehouse_e2e::{project_root, spawn_app, spawn_app_with, TestApp};
use std::process::Command;

#[test]
fn schemathesis_finds_no_contract_violations() {
    run_schemathesis(&spawn_app());
}

/// The same with the rate limiter on, as in production: 429 answers (and the login
/// failure lock's) must be documented where they occur, in each family's shape.
#[test]
fn schemathesis_finds_no_contract_violations_with_the_rate_limiter_on() {
    run_schemathesis(&spawn_app_with(&[("RATE_LIMITS", "on")]));
}

fn run_schemathesis(app: &TestApp) {
    let schemathesis = std::env::var_os("SCHEMATHESIS").expect(
        "SCHEMATHESIS (path to the schemathesis CLI) is not set: run `make test`, which \
         installs it into a cached venv",
    );
    // Authenticated operations run as a verified member of a real organization.
    let (token, org, _) = verified_user(app, "contract@acme.io");
    let work = tempfile::tempdir().expect("temp dir");
    // `make test` runs a fixed seed and budget; `make contract` explores further
    // (CONTRACT_EXAMPLES, CONTRACT_SEED).
    let examples = std::env::var("CONTRACT_EXAMPLES").unwrap_or_else(|_| "60".to_owned());
    let mut cmd = Command::new(schemathesis);
    cmd.arg("--no-color")
        .arg("--config-file")
        .arg(project_root().join("tests/contract/schemathesis.toml"))
        .args([
            "run",
            &app.url("/openapi.json"),
            "--max-examples",
            &examples,
        ]);
    if let Ok(seed) = std::env::var("CONTRACT_SEED") {
        cmd.args(["--seed", &seed]);
    }
    let out = cmd
        .env("GATEHOUSE_ACCESS_TOKEN", &token)
        .env("GATEHOUSE_ORG_ID", &org)
        // schemathesis keeps its example database and reports in the working directory.
        .current_dir(work.path())
        .output()
        .expect("run schemathesis");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "schemathesis failed:\n{report}");
    // The summary (operations, phases, test cases) in the test output for the record.
    let summary = report.find("SUMMARY").map_or("", |at| &report[at..]);
    eprintln!("schemathesis {summary}");
    // It really ran every operation (a schema it could not load also "passes" nothing).
    assert!(report.contains("Tested: 31"), "{report}");
}
