//! The foundation, end to end: routing, error plumbing, limits, health, OpenAPI,
//! panic handling and the harness's own cleanup, against the real worker in workerd.
//!
//! Requests that store nothing share one worker; a worker of their own for other
//! `[vars]`, for the panic (its log lines), and for the harness's cleanup test.

use gatehouse_core::crypto::key_id;
use gatehouse_core::node_env::at_rest::NodeEnvKey;
use gatehouse_e2e::{dev_var, group_alive, project_root, shared_app, spawn_app};
use serde_json::json;

#[test]
fn health_reports_version_and_live_dependencies() {
    let app = shared_app();
    let res = app.get("/health");
    assert_eq!(res.status, 200, "{}", res.body);
    // The NODE_ENV_KEY and JWT_SECRET it runs with, named by their public ids
    // (node-env-reseal checks the first; sign_ins.rs checks the second against openssl).
    let node_env_key = NodeEnvKey::parse(&dev_var("NODE_ENV_KEY")).unwrap();
    assert_eq!(
        res.json(),
        json!({"status": "ok", "version": built_version(),
               "checks": {"config": "ok", "d1": "ok", "kv": "ok"},
               "keyIds": {"nodeEnv": node_env_key.id(), "nodeEnvPrevious": null,
                          "jwt": key_id(dev_var("JWT_SECRET").trim().as_bytes(),
                                        "gatehouse jwt v1 key id"),
                          "jwtPrevious": null}})
    );
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
}

/// The version /health must show: the crate's, and the commit `make build` recorded
/// (target/gatehouse-commit: HEAD's where git can tell, `-dirty` after it while the
/// worker's sources differ; empty outside a checkout).
fn built_version() -> String {
    let commit = std::fs::read_to_string(project_root().join("target/gatehouse-commit"))
        .expect("make build records the commit");
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(project_root())
        .output()
        .ok()
        .filter(|out| out.status.success());
    if let Some(head) = head {
        let head = String::from_utf8_lossy(&head.stdout).trim().to_owned();
        assert!(
            commit == head || commit == format!("{head}-dirty"),
            "built from HEAD ({head}): {commit}"
        );
    }
    match commit.as_str() {
        "" => env!("CARGO_PKG_VERSION").to_owned(),
        commit => format!("{}+{commit}", env!("CARGO_PKG_VERSION")),
    }
}

/// Monitors and strangers call `/health` often: the isolate reuses its storage check
/// for 5 s, so a flood of health checks adds no load to the D1 primary or KV, and
/// checks again once that is over. A worker of its own: no other test's call (nor the
/// harness's readiness probe, 5 s before) makes the check this test sees.
#[test]
fn health_checks_storage_at_most_every_5_seconds() {
    let app = spawn_app();
    std::thread::sleep(std::time::Duration::from_millis(5_100));
    let fresh = app.get("/health");
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    assert_eq!(fresh.header("x-gatehouse-d1-round-trips"), Some("1"));
    assert_eq!(fresh.header("x-gatehouse-kv-reads"), Some("1"));
    let again = app.get("/health");
    assert_eq!((again.status, again.json()), (200, fresh.json()));
    assert_eq!(again.header("x-gatehouse-d1-round-trips"), Some("0"));
    assert_eq!(again.header("x-gatehouse-kv-reads"), Some("0"));
}

/// Whoever opens the bare URL learns what this is and where to read next.
#[test]
fn the_root_answers_a_small_json_index() {
    let app = shared_app();
    let res = app.get("/");
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.header("content-type"), Some("application/json"));
    let index = res.json();
    assert_eq!(index["name"], "gatehouse");
    assert_eq!(index["version"], built_version(), "as /health shows it");
    for link in ["health", "openapi"] {
        let path = index["links"][link].as_str().unwrap();
        assert_eq!(app.get(path).status, 200, "{link}: {path}");
    }
    assert_eq!(app.request("DELETE", "/", &[], None).status, 405);
}

#[test]
fn openapi_document_is_served_as_built() {
    let app = shared_app();
    let res = app.get("/openapi.json");
    assert_eq!(res.status, 200);
    let doc = res.json();
    assert_eq!(
        doc,
        serde_json::from_str::<serde_json::Value>(gatehouse_core_openapi()).unwrap()
    );
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
}

fn gatehouse_core_openapi() -> &'static str {
    include_str!("../../core/openapi.json")
}

#[test]
fn unknown_routes_and_methods_get_json_errors() {
    let app = shared_app();
    let res = app.get("/no/such/route");
    assert_eq!(res.status, 404);
    assert_eq!(
        res.json(),
        json!({"success": false, "error_code": "NOT_FOUND", "message": "Not Found"})
    );

    let res = app.request("DELETE", "/health", &[], None);
    assert_eq!(res.status, 405);
    assert_eq!(res.json()["error_code"], "METHOD_NOT_ALLOWED");
    assert_eq!(res.header("allow"), Some("GET"));

    let res = app.request("PUT", "/openapi.json", &[], Some(b"{}"));
    assert_eq!(res.status, 405);

    // Methods the runtime passes through but nobody routes (found by schemathesis:
    // workers-rs reads unknown methods as GET).
    for method in ["QUERY", "PROPFIND", "REPORT"] {
        let res = app.request(method, "/health", &[], None);
        assert_eq!(res.status, 405, "{method}: {}", res.body);
        assert_eq!(res.header("allow"), Some("GET"));
    }
}

#[test]
fn oversized_bodies_are_refused_with_413_json() {
    let app = shared_app();
    let big = vec![b'x'; 100 * 1024];
    let res = app.request(
        "POST",
        "/__test/panic",
        &[("content-type", "application/json")],
        Some(&big),
    );
    assert_eq!(res.status, 413, "{}", res.body);
    assert_eq!(res.json()["error_code"], "PAYLOAD_TOO_LARGE");
    // On any path, before routing: a known route, a wrong method, an unknown path.
    for (method, path) in [
        ("POST", "/health"),
        ("PUT", "/no/such/route"),
        ("POST", "/user/register"),
    ] {
        let res = app.request(method, path, &[], Some(&big));
        assert_eq!(res.status, 413, "{method} {path}: {}", res.body);
        assert_eq!(res.json()["error_code"], "PAYLOAD_TOO_LARGE");
    }
    // Each family keeps its shape.
    let res = app.request("POST", "/register", &[], Some(&big));
    assert_eq!(
        (res.status, res.json()["success"].clone()),
        (413, serde_json::json!(false))
    );
    assert!(res.json()["message"].as_str().unwrap().contains("65536"));
    // The worker is still fine afterwards.
    assert_eq!(app.get("/health").status, 200);
}

#[test]
fn a_chunked_body_is_refused_as_soon_as_it_passes_the_limit() {
    use std::io::{Read, Write};
    let app = shared_app();
    let addr = app.base_url.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "POST /user/login HTTP/1.1\r\nHost: {addr}\r\ncontent-type: application/json\r\n\
         transfer-encoding: chunked\r\n\r\n"
    )
    .unwrap();
    // 128 KiB in 8 KiB chunks, and then the body never ends: a worker that reads the
    // whole body before checking its size would wait here forever.
    let chunk = vec![b' '; 8 * 1024];
    for _ in 0..16 {
        write!(stream, "{:x}\r\n", chunk.len()).unwrap();
        stream.write_all(&chunk).unwrap();
        stream.write_all(b"\r\n").unwrap();
    }
    stream.flush().unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("PAYLOAD_TOO_LARGE") {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) => panic!(
                "no answer while the body was still open ({e}); got {:?}",
                String::from_utf8_lossy(&answer)
            ),
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("PAYLOAD_TOO_LARGE"), "{answer}");
    assert_eq!(app.get("/health").status, 200);
}

#[test]
fn oversized_headers_are_refused_with_431_json() {
    let app = shared_app();
    // Many ordinary-sized headers (each under any per-line limit) over 16 KiB in all.
    let value = "v".repeat(1000);
    let names: Vec<String> = (0..20).map(|i| format!("x-padding-{i}")).collect();
    let headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), value.as_str())).collect();
    let res = app.request("POST", "/user/login", &headers, Some(b"{}"));
    assert_eq!(res.status, 431, "{}", res.body);
    assert_eq!(
        res.json(),
        serde_json::json!({
            "success": false,
            "error_code": "HEADERS_TOO_LARGE",
            "message": "Request headers too large (limit 16384 bytes)"
        })
    );
    let res = app.request("POST", "/register_node_secret", &headers, Some(b"{}"));
    assert_eq!(res.status, 431, "{}", res.body);
    assert_eq!(
        res.json(),
        serde_json::json!({"detail": "Request headers too large (limit 16384 bytes)"})
    );
    // Just under the limit is served as usual.
    let res = app.request("GET", "/health", &headers[..12], None);
    assert_eq!(res.status, 200, "{}", res.body);
}

#[test]
fn test_hooks_are_absent_when_off() {
    let app = gatehouse_e2e::spawn_app_with(&[("TEST_HOOKS", "off")]);
    let res = app.request("POST", "/__test/panic", &[], Some(b"{}"));
    assert_eq!(res.status, 404);
    for hook in [
        "x-gatehouse-metric",
        "x-gatehouse-d1-primary",
        "x-gatehouse-kdf-runs",
        "x-gatehouse-d1-rows-written",
        "x-gatehouse-kv-reads",
    ] {
        assert!(res.header(hook).is_none(), "{hook} without test hooks");
    }
    // An injected fault (docs/operations.md, "Overload") is a test hook too: ignored.
    let faulted = app.request(
        "GET",
        "/node",
        &[("x-gatehouse-fault", "d1-overloaded")],
        None,
    );
    assert_eq!(faulted.status, 200, "{}", faulted.body);
    assert!(
        res.header("x-request-id").is_some(),
        "request ids are not a test hook"
    );
}

#[test]
fn a_panic_is_logged_and_answered_with_500_json_and_the_next_request_works() {
    let app = spawn_app();
    let res = app.request("POST", "/__test/panic", &[], Some(b"{}"));
    assert_eq!(res.status, 500, "{}", res.body);
    assert_eq!(
        res.server_error_body(),
        json!({"success": false, "error_code": "INTERNAL_ERROR", "message": "Internal Server Error"})
    );
    // The panic's own log line, with the id the user saw.
    let id = res.header("x-request-id").unwrap();
    let log = app.wait_for_log(&format!("\"requestId\":\"{id}\""));
    let line = log
        .lines()
        .find(|l| l.contains(id) && l.contains("\"msg\""))
        .unwrap();
    assert!(line.contains("\"errorCode\":\"PANIC\""), "{line}");
    assert_eq!(
        app.get("/health").status,
        200,
        "instance recovered after the panic"
    );
    let log = app.wait_for_log("deliberate panic");
    assert!(
        log.contains("deliberate panic"),
        "panic message logged:\n{log}"
    );
}

#[test]
fn missing_secret_is_reported_by_health_not_hidden() {
    let app = gatehouse_e2e::spawn_app_with(&[("JWT_SECRET", "weak-secret-value")]);
    let res = app.get("/health");
    assert_eq!(res.status, 503);
    assert_eq!(res.json()["checks"]["config"], "error");
    assert_eq!(res.json().get("keyIds"), None, "no configuration, no keys");
    let log = app.wait_for_log("configuration JWT_SECRET");
    let reports: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("configuration JWT_SECRET"))
        .collect();
    assert!(!reports.is_empty(), "the log names the bad setting:\n{log}");
    assert!(
        reports.iter().all(|l| !l.contains("weak-secret-value")),
        "but never its value"
    );
}

#[test]
fn dropping_the_app_leaves_no_process_behind() {
    let app = spawn_app();
    let group = app.process_group();
    assert!(group_alive(group));
    drop(app);
    assert!(!group_alive(group), "wrangler/workerd survived the harness");
}
