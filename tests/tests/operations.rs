//! What an operator sees of each request (docs/operations.md): the request id on
//! every answer and in 5xx bodies, one structured log line, one metrics data point.

use gatehouse_e2e::nodes::{fields, now_ms, seed_org, signed};
use gatehouse_e2e::{spawn_app, TestApp, TestResponse};
use serde_json::{json, Value};

fn request_id(res: &TestResponse) -> String {
    res.header("x-request-id")
        .expect("every answer carries x-request-id")
        .to_owned()
}

/// The structured log line of the request with this id.
fn log_line(app: &TestApp, id: &str) -> Value {
    let needle = format!("\"requestId\":\"{id}\"");
    let log = app.wait_for_log(&needle);
    let line = log
        .lines()
        .find(|l| l.contains(&needle))
        .expect("the request's line");
    let start = line.find('{').expect("a JSON object");
    serde_json::from_str(&line[start..]).unwrap_or_else(|e| panic!("{e}: {line}"))
}

fn metric(res: &TestResponse) -> Value {
    serde_json::from_str(
        res.header("x-gatehouse-metric")
            .expect("a data point was written"),
    )
    .unwrap()
}

#[test]
fn every_answer_has_a_request_id_and_one_log_line_and_data_point() {
    let app = spawn_app();
    let key = seed_org(&app, "org-ops", 2048);
    let good = signed(&key, &fields("192.0.2.60", now_ms(), Some("org-ops")));
    let mut forged = signed(&key, &fields("192.0.2.60", now_ms() + 1, Some("org-ops")));
    forged["region"] = json!("tampered");

    let stored = app.post_json("/register", &good);
    assert_eq!(stored.status, 200, "{}", stored.body);
    let refused = app.post_json("/register", &forged);
    assert_eq!(refused.status, 400, "{}", refused.body);
    let missing = app.get("/no/such/path");
    let wrong_method = app.request("PUT", "/register", &[], None);
    let ids: Vec<String> = [&stored, &refused, &missing, &wrong_method]
        .iter()
        .map(|r| request_id(r))
        .collect();
    for id in &ids {
        assert_eq!(id.len(), 32, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    }
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "one id per request");

    let line = log_line(&app, &request_id(&refused));
    assert_eq!(line["msg"], "request");
    assert_eq!(line["route"], "Register");
    assert_eq!(line["method"], "POST");
    assert_eq!(line["status"], 400);
    assert_eq!(line["statusClass"], "4xx");
    assert_eq!(line["errorCode"], "INVALID_SIGNATURE");
    assert!(line["durationMs"].as_u64().is_some());
    assert_eq!(
        line["kvCalls"], 1,
        "the nonce check; nothing stored, nothing remembered"
    );
    assert_eq!(
        line["d1Primary"], 1,
        "the cached key did not verify: the cold path's read"
    );
    assert!(line.get("country").is_some() && line.get("colo").is_some());
    assert!(
        line["colo"].is_null() && line["country"].is_null(),
        "no edge (no cf-ray): no made-up location"
    );
    let ok_line = log_line(&app, &request_id(&stored));
    assert_eq!(
        (ok_line["status"].as_u64(), ok_line["errorCode"].is_null()),
        (Some(200), true)
    );
    assert_eq!(ok_line["kvCalls"], 2, "nonce checked, then remembered");
    // What it cost (docs/performance.md, "What a request costs"): the refused request
    // read rows and wrote none; the stored one wrote its row.
    assert_eq!(
        (&line["kvReads"], &line["kvWrites"], &line["d1RowsWritten"]),
        (&json!(1), &json!(0), &json!(0))
    );
    assert!(line["d1RowsRead"].as_u64().unwrap() > 0, "{line}");
    assert_eq!(
        (&ok_line["kvReads"], &ok_line["kvWrites"]),
        (&json!(1), &json!(1))
    );
    assert!(ok_line["d1RowsWritten"].as_u64().unwrap() > 0, "{ok_line}");
    let unmatched = log_line(&app, &request_id(&missing));
    assert_eq!(
        (unmatched["route"].as_str(), unmatched["status"].as_u64()),
        (Some("Unmatched"), Some(404))
    );
    assert_eq!(log_line(&app, &request_id(&wrong_method))["status"], 405);

    assert_eq!(
        metric(&refused),
        json!({
            "indexes": ["Register"],
            "blobs": ["Register", "4xx", "INVALID_SIGNATURE", "POST",
                      line["country"].as_str().unwrap_or(""), line["colo"].as_str().unwrap_or("")],
            "doubles": [400.0, line["durationMs"].as_f64().unwrap(), 1.0, 0.0, 1.0,
                        line["d1RowsRead"].as_f64().unwrap(), 0.0, 1.0, 0.0],
        })
    );
    assert_eq!(metric(&stored)["blobs"][1], "2xx");
    assert_eq!(metric(&missing)["indexes"], json!(["Unmatched"]));
}

#[test]
fn cloudflare_ray_ids_are_the_request_ids_and_5xx_bodies_carry_them() {
    let app = spawn_app();
    let ray = "8f1c2a3b4c5d6e7f-FRA";
    let res = app.request("GET", "/health", &[("cf-ray", ray)], None);
    assert_eq!(request_id(&res), ray);
    // Something that is not a ray id is not taken for one.
    let odd = app.request("GET", "/health", &[("cf-ray", "chosen by me")], None);
    assert_ne!(request_id(&odd), "chosen by me");

    // A storage failure: the 500 body names the request, in its family's shape.
    app.d1_query(
        "CREATE TRIGGER injected_fault BEFORE INSERT ON node_secrets \
         BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
    );
    let failed = app.post_json(
        "/register_node_secret",
        &json!({"node_id": "n-ops", "secret": "0123456789abcdef"}),
    );
    assert_eq!(failed.status, 500, "{}", failed.body);
    let id = request_id(&failed);
    assert_eq!(
        failed.json(),
        json!({"detail": "Internal Server Error", "requestId": id})
    );
    let line = log_line(&app, &id);
    assert_eq!(
        (line["status"].as_u64(), line["statusClass"].as_str()),
        (Some(500), Some("5xx"))
    );
}
