//! Every request in tests/fastapi_golden/fixtures.json (answered by the real FastAPI,
//! see generate.py there) gets byte-for-byte the same status and body from our model.
#![cfg(not(target_arch = "wasm32"))]

use base64::Engine;
use gatehouse_core::node_secret::{registered_body, NodeSecretRequest};
use serde_json::Value;

#[test]
fn node_secret_model_answers_like_fastapi() {
    let fixtures: Value =
        serde_json::from_str(include_str!("../../tests/fastapi_golden/fixtures.json")).unwrap();
    let cases = fixtures["cases"].as_array().unwrap();
    assert!(cases.len() > 400, "the golden table is complete");
    let mut failures = Vec::new();
    for case in cases {
        let body = base64::engine::general_purpose::STANDARD
            .decode(case["body_b64"].as_str().unwrap())
            .unwrap();
        let (status, response) =
            match NodeSecretRequest::parse(case["content_type"].as_str(), &body) {
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
