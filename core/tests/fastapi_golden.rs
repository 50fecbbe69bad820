//! Every request in tests/fastapi_golden/fixtures*.json (answered by the real FastAPI,
//! see generate.py there) gets byte-for-byte the same status and body from our model:
//! Infera's published model by default, and the constrained model an operator gets
//! with the length settings the constrained table names.
#![cfg(not(target_arch = "wasm32"))]

use base64::Engine;
use gatehouse_core::node_secret::{registered_body, NodeSecretPolicy, NodeSecretRequest};
use serde_json::Value;

fn policy_of(fixtures: &Value) -> NodeSecretPolicy {
    let setting = |name: &str| fixtures["settings"][name].as_u64().map(|n| n as usize);
    NodeSecretPolicy {
        node_id_min_length: setting("NODE_ID_MIN_LENGTH"),
        node_id_max_length: setting("NODE_ID_MAX_LENGTH"),
        secret_min_length: setting("NODE_SECRET_MIN_LENGTH"),
        secret_max_length: setting("NODE_SECRET_MAX_LENGTH"),
    }
}

fn answers_like_fastapi(fixtures: &str) {
    let fixtures: Value = serde_json::from_str(fixtures).unwrap();
    let policy = policy_of(&fixtures);
    let cases = fixtures["cases"].as_array().unwrap();
    assert!(cases.len() > 400, "the golden table is complete");
    let mut failures = Vec::new();
    for case in cases {
        let body = base64::engine::general_purpose::STANDARD
            .decode(case["body_b64"].as_str().unwrap())
            .unwrap();
        let (status, response) =
            match NodeSecretRequest::parse(case["content_type"].as_str(), &body, &policy) {
                Ok(req) => (200, registered_body(&req.node_id)),
                Err(rejection) => (rejection.status(), rejection.body()),
            };
        if status != case["status"].as_u64().unwrap() as u16
            || response != case["response"].as_str().unwrap()
        {
            failures.push(format!(
                "{}: body {:?}\n  want {} {}\n  got  {} {}",
                case["name"],
                String::from_utf8_lossy(&body),
                case["status"],
                case["response"],
                status,
                response
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn infera_model_answers_like_fastapi() {
    let fixtures = include_str!("../../tests/fastapi_golden/fixtures.json");
    assert!(
        !fixtures.contains("\"settings\""),
        "the default table has no limits"
    );
    answers_like_fastapi(fixtures);
}

#[test]
fn constrained_model_answers_like_fastapi() {
    answers_like_fastapi(include_str!(
        "../../tests/fastapi_golden/fixtures_constrained.json"
    ));
}
