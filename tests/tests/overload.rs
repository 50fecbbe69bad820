//! Overload is an answer, not a 500 (docs/operations.md, "Overload"): D1's
//! "overloaded" errors and KV's 429 are answered 503 with a jittered `Retry-After`,
//! in each route family's shape. The faults are injected with test hooks on
//! (`x-gatehouse-fault`): the store layer then fails with the very text D1 or KV
//! sends, so what classifies it is the production code.

use gatehouse_e2e::nodes::{fields, now_ms, seed_org, signed};
use gatehouse_e2e::{shared_app, unique, TestResponse};
use serde_json::{json, Value};

/// The documented window (core::http::overload).
const RETRY_AFTER: std::ops::RangeInclusive<u32> = 10..=40;

fn post_with_fault(path: &str, body: &Value, fault: &str) -> TestResponse {
    let text = body.to_string();
    shared_app().request(
        "POST",
        path,
        &[
            ("content-type", "application/json"),
            ("x-gatehouse-fault", fault),
        ],
        Some(text.as_bytes()),
    )
}

/// A 503's Retry-After, within the documented window.
fn retry_after_of_503(res: &TestResponse) -> u32 {
    assert_eq!(res.status, 503, "{}", res.body);
    let seconds: u32 = res
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!(RETRY_AFTER.contains(&seconds), "{seconds}");
    seconds
}

/// Checks a 503 answer and returns its Retry-After, which the body names too.
fn overloaded(res: &TestResponse, message_of: impl Fn(&Value) -> String) -> u32 {
    let seconds = retry_after_of_503(res);
    let body = res.server_error_body();
    assert_eq!(
        message_of(&body),
        format!("Storage is unavailable; nothing was stored. Retry after {seconds} seconds")
    );
    seconds
}

#[test]
fn d1_and_kv_overload_on_register_answer_503_and_store_nothing() {
    let app = shared_app();
    let org = unique("org-busy");
    let key = seed_org(app, &org, 2048);
    let bridge = |b: &Value| {
        assert_eq!(b["success"], false, "{b}");
        b["message"].as_str().unwrap().to_owned()
    };
    for fault in ["d1-overloaded", "d1-queued-too-long", "kv-429"] {
        let body = signed(&key, &fields("203.0.113.150", now_ms(), Some(&org)));
        overloaded(&post_with_fault("/register", &body, fault), bridge);
        // The node's retry (same signed request) goes through once storage does.
        let retry = app.post_json("/register", &body);
        assert_eq!(
            retry.status, 200,
            "{fault}: the signature was not burnt: {}",
            retry.body
        );
    }
    // Written once per successful retry only.
    let nodes = app.d1_query(&format!(
        "SELECT count(*) AS n FROM nodes WHERE org_id = '{org}'"
    ));
    assert_eq!(nodes[0]["n"], 1);
}

#[test]
fn overload_is_answered_in_each_route_familys_shape() {
    let account = post_with_fault(
        "/user/login",
        &json!({"email": format!("{}@acme.io", unique("busy")), "password": "Correct1horse"}),
        "d1-overloaded",
    );
    overloaded(&account, |b| {
        assert_eq!(b["error_code"], "SERVICE_UNAVAILABLE", "{b}");
        b["message"].as_str().unwrap().to_owned()
    });
    let fastapi = post_with_fault(
        "/register_node_secret",
        &json!({"node_id": unique("busy-node"), "secret": "0123456789abcdef"}),
        "d1-queued-too-long",
    );
    overloaded(&fastapi, |b| b["detail"].as_str().unwrap().to_owned());
    let directory = shared_app().request(
        "GET",
        "/node",
        &[("x-gatehouse-fault", "d1-overloaded")],
        None,
    );
    overloaded(&directory, |b| b["message"].as_str().unwrap().to_owned());
}

#[test]
fn retry_after_is_jittered() {
    // Eight answers over a 31-second window: all equal only by a 1-in-10^11 chance.
    let seen: std::collections::BTreeSet<u32> = (0..8)
        .map(|_| {
            let res = shared_app().request(
                "GET",
                "/node",
                &[("x-gatehouse-fault", "d1-overloaded")],
                None,
            );
            overloaded(&res, |b| b["message"].as_str().unwrap().to_owned())
        })
        .collect();
    assert!(seen.len() > 1, "{seen:?}");
}

/// The link page's form is a person's browser: overload comes as a page ("Not done",
/// the message, Retry-After) with the request id as a reference, logged with the
/// problem's own code.
#[test]
fn a_link_form_gets_overload_as_a_page_with_a_reference() {
    let app = shared_app();
    let res = app.request(
        "POST",
        "/user/verify-email",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("x-gatehouse-fault", "d1-overloaded"),
        ],
        Some(b"token=made-up-link&password=Correct1horse"),
    );
    let seconds = retry_after_of_503(&res);
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    let id = res.header("x-request-id").expect("x-request-id").to_owned();
    for needle in [
        "<h1>Not done</h1>".to_owned(),
        format!("Storage is unavailable; nothing was stored. Retry after {seconds} seconds"),
        format!("<p>Reference: <code>{id}</code></p>"),
    ] {
        assert!(res.body.contains(&needle), "{needle} in {}", res.body);
    }
    let log = app.wait_for_log(&format!("\"requestId\":\"{id}\""));
    let line = log
        .lines()
        .find(|l| l.contains(&id))
        .expect("the request's line");
    assert!(
        line.contains("\"errorCode\":\"SERVICE_UNAVAILABLE\""),
        "{line}"
    );
}
