//! The benchmark tools' way of starting a worker without the DevTools inspector
//! (`without_inspector`, `WORKER_INSPECTOR=off`: tests/start-worker.mjs, through
//! wrangler's API, which is marked unstable) serves the worker as `wrangler dev` does —
//! its `[vars]` overrides, its migrated D1 and KV, its log, the cron on request — and
//! really leaves the inspector out. A wrangler upgrade that changes that API fails here,
//! not in someone's benchmark run.

use gatehouse_e2e::bench::group_pids;
use gatehouse_e2e::maintenance::{trigger_cron, wait_for_runs};
use gatehouse_e2e::{spawn_app, without_inspector, TestApp};
use serde_json::json;

/// The command lines of the workerd processes serving `app`.
fn workerd_command_lines(app: &TestApp) -> Vec<String> {
    group_pids(app.process_group(), Some("workerd"))
        .into_iter()
        .filter_map(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).ok())
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .collect()
}

fn serves_the_worker(app: &TestApp) {
    let health = app.get("/health");
    assert_eq!(health.status, 200, "{}", health.body);
    // TEST_HOOKS=on is one of the harness's `--var` overrides: it reached the worker.
    assert!(
        health.header("x-gatehouse-d1-primary").is_some(),
        "{health:?}"
    );
    // D1 and KV answer (the health check reads both).
    assert_eq!(
        health.json()["checks"],
        json!({"config": "ok", "d1": "ok", "kv": "ok"})
    );
    // The migrated database it was given (`--persist-to`): the directory reads the nodes
    // table, which only the migrations create.
    let directory = app.get("/node");
    assert_eq!(directory.status, 200, "{}", directory.body);
    assert!(directory.json()["data"].is_array(), "{}", directory.body);
    // Its log: the request's one line, under the request's id.
    let refused = app.post_json("/register", &json!({}));
    assert_eq!(refused.status, 400, "{}", refused.body);
    let request_id = refused.header("x-request-id").expect("request id");
    assert!(app.wait_for_log(request_id).contains(request_id));
    // `--test-scheduled`: the cron runs on request, and its maintenance line is logged.
    trigger_cron(app);
    assert!(!wait_for_runs(app, 1).is_empty());
}

#[test]
fn a_worker_started_without_the_inspector_serves_as_wrangler_dev_and_has_none() {
    let without = without_inspector(spawn_app);
    let with = spawn_app();

    assert_eq!(without.inspector_port, None);
    assert!(with.inspector_port.is_some());
    serves_the_worker(&without);
    serves_the_worker(&with);

    // The check can tell: `wrangler dev` starts a workerd listening for an inspector.
    let inspected = |app: &TestApp| {
        let lines = workerd_command_lines(app);
        assert!(
            !lines.is_empty(),
            "no workerd in the worker's process group"
        );
        lines.iter().any(|l| l.contains("--inspector-addr"))
    };
    assert!(inspected(&with), "{:?}", workerd_command_lines(&with));
    assert!(
        !inspected(&without),
        "{:?}",
        workerd_command_lines(&without)
    );
}
