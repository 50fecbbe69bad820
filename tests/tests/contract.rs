//! Contract: schemathesis (PyPI, pinned in tests/contract/requirements.txt) generates
//! requests from the worker's own `/openapi.json` and sends them to the running
//! worker; every check must pass — no 5xx, only documented status codes, headers and
//! content types, every response body matching its schema, invalid data refused.
//! Exceptions are per operation and explained in tests/contract/schemathesis.toml.

use gatehouse_core::http::routes::ROUTES;
use gatehouse_e2e::accounts::verified_user;
use gatehouse_e2e::{project_root, spawn_app, spawn_app_with, TestApp};
use serde_json::Value;
use std::collections::HashSet;
use std::process::Command;

#[test]
fn schemathesis_finds_no_contract_violations() {
    run_schemathesis(&spawn_app(), examples("CONTRACT_EXAMPLES", "60"), false);
}

/// The same with the rate limiter on, as in production: 429 answers (and the login
/// failure lock's) must be documented where they occur, in each family's shape. Fewer
/// examples: 20 an operation pass the people routes' 10 a minute, and past it most
/// answers are 429s, which the run above has no need to repeat at length. The worker's
/// log must show that the limiter did refuse.
#[test]
fn schemathesis_finds_no_contract_violations_with_the_rate_limiter_on() {
    let app = spawn_app_with(&[("RATE_LIMITS", "on")]);
    run_schemathesis(&app, examples("CONTRACT_LIMITED_EXAMPLES", "20"), true);
    assert!(
        app.log().contains(r#""msg":"rate_limited""#),
        "the run met no rate limit: its 429s went untested"
    );
}

/// Examples per operation: `variable` if set (`make contract` sets CONTRACT_EXAMPLES
/// for a longer run), else `default`.
fn examples(variable: &str, default: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| default.to_owned())
}

/// An operation that ends the very sign-in whose token authenticates the run: once
/// schemathesis calls it with an id it found in `GET /token` (an inferred link), every
/// later bearer call would get 401 SESSION_ENDED. It runs on its own, with a second
/// user's token, after everything else.
const ENDS_ITS_OWN_SIGN_IN: &str = "DELETE /token/{tokenId}";

fn run_schemathesis(app: &TestApp, examples: String, limiter_on: bool) {
    // Both users first: with the rate limiter on, the main run's own sign-ups spend
    // this network's sign-up budget for the minute after them. Each founds its own
    // organization (another domain), so that no role change of the main run reaches
    // the second user, nor, through them, the first.
    let (token, org, _) = verified_user(app, "contract@acme.io");
    let (second_token, second_org, _) = verified_user(app, "contract@sessions.acme.io");
    let main = schemathesis(
        app,
        &token,
        &org,
        &examples,
        &["--exclude-name", ENDS_ITS_OWN_SIGN_IN],
    );
    // The main run's token lived to its end: nothing in it ended its own sign-in (the
    // schemathesis user knows no password and no refresh token of that sign-in, so
    // nothing else could answer SESSION_ENDED there).
    let main_log = app.log();
    assert!(
        !main_log.contains(r#""errorCode":"SESSION_ENDED""#),
        "the main run ended its own sign-in: later bearer calls were refused\n{main}"
    );
    let sessions = schemathesis(
        app,
        &second_token,
        &second_org,
        &examples,
        &["--include-name", ENDS_ITS_OWN_SIGN_IN],
    );
    assert_eq!(
        tested(&main) + tested(&sessions),
        operations_in_schema(&main),
        "every operation schemathesis finds in /openapi.json is tested once:\n{main}\n{sessions}"
    );
    every_bearer_operation_got_past_authentication(app, &main, &sessions, limiter_on);
}

/// Every bearer operation of /openapi.json must get past authentication at least once,
/// or its own checks never ran (a token ended mid-run once hid them all): the worker
/// logged an answer for its route other than 401/403 (and 413/431, given before a
/// request is read, and 429). A bearer route checks the token before anything else, so
/// any other answer means the token was accepted. A bearer route's 429 comes only after
/// its token verified (the signed-in budget, key generation's pace, the day of
/// changes), but its own checks did not run: with the rate limiter on, where a long
/// run spends the network's 300 signed-in calls a minute and the operations met last
/// may get nothing else, it counts (their checks run in the run without it); without,
/// it does not. Counted from the worker's log, not from
/// schemathesis's "Authentication failed" warning: that is a heuristic (90 % of one
/// scenario's answers 401, no case accepted), which flagged an operation whose token
/// was accepted but whose cases were mostly the run's own negative ones without one.
fn every_bearer_operation_got_past_authentication(
    app: &TestApp,
    main: &str,
    sessions: &str,
    limiter_on: bool,
) {
    let schema = app.get("/openapi.json").json();
    let log = app.log();
    let past_authentication: HashSet<String> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(&line[line.find('{')?..]).ok())
        .filter(|line| {
            let status = line["status"].as_u64();
            line["msg"] == "request"
                && !matches!(status, Some(401 | 403 | 413 | 431))
                && (limiter_on || status != Some(429))
        })
        .filter_map(|line| line["route"].as_str().map(str::to_owned))
        .collect();
    let mut never = Vec::new();
    let mut bearer_operations = 0;
    for (path, item) in schema["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let bearer = operation["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearerAuth").is_some()));
            if !bearer {
                continue;
            }
            bearer_operations += 1;
            let route = ROUTES
                .iter()
                .find(|r| r.pattern == path && r.method.as_str().eq_ignore_ascii_case(method))
                .unwrap_or_else(|| panic!("{method} {path} is in no route of the table"));
            if !past_authentication.contains(&route.id.name()) {
                never.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(
        bearer_operations > 0,
        "no operation of /openapi.json names bearerAuth in its own `security`"
    );
    assert!(
        never.is_empty(),
        "only ever answered 401/403: {never:?}\n{main}\n{sessions}"
    );
}

/// Runs schemathesis with the verified user's `token` and organization `org`,
/// `examples` per operation, the operations chosen by `select`; returns its report (it
/// must succeed).
fn schemathesis(app: &TestApp, token: &str, org: &str, examples: &str, select: &[&str]) -> String {
    let schemathesis = std::env::var_os("SCHEMATHESIS").expect(
        "SCHEMATHESIS (path to the schemathesis CLI) is not set: run `make test`, which \
         installs it into a cached venv",
    );
    let work = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(schemathesis);
    cmd.arg("--no-color")
        .arg("--config-file")
        .arg(project_root().join("tests/contract/schemathesis.toml"))
        .args([
            "run",
            &app.url("/openapi.json"),
            "--max-examples",
            examples,
            // Key generation (POST key without a body) takes seconds of CPU in wasm; on
            // a loaded 2-core runner it passed schemathesis's default 10 s.
            "--request-timeout",
            "60",
        ])
        .args(select);
    if let Ok(seed) = std::env::var("CONTRACT_SEED") {
        cmd.args(["--seed", &seed]);
    }
    let out = cmd
        .env("GATEHOUSE_ACCESS_TOKEN", token)
        .env("GATEHOUSE_ORG_ID", org)
        .current_dir(work.path())
        .output()
        .expect("run schemathesis");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "schemathesis failed:\n{report}");
    let summary = report.find("SUMMARY").map_or("", |at| &report[at..]);
    eprintln!("schemathesis {summary}");
    report
}

/// The "Tested: N" of a schemathesis report.
fn tested(report: &str) -> usize {
    report
        .split("Tested: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no 'Tested: N' in the report:\n{report}"))
}

/// How many operations schemathesis found in the schema: the M of "Selected: N/M".
fn operations_in_schema(report: &str) -> usize {
    report
        .split("Selected: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|ratio| ratio.split('/').nth(1))
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("no 'Selected: N/M' in the report:\n{report}"))
}
