//! The log line's and the data point's shapes (field names, order, column positions, as
//! dashboards and queries read them), and the error code read from every family's body.

use super::*;
use serde_json::json;

fn record() -> RequestRecord {
    RequestRecord {
        request_id: "8f1c2a3b4c5d6e7f-FRA".into(),
        route: Some(RouteId::Register),
        method: "POST".into(),
        status: 400,
        error_code: Some("INVALID_SIGNATURE".into()),
        duration_ms: 12,
        d1_primary: 1,
        d1_replica: 0,
        kv_calls: 1,
        d1_rows_read: 7,
        d1_rows_written: 0,
        kv_reads: 1,
        kv_writes: 0,
        country: Some("DE".into()),
        colo: Some("FRA".into()),
    }
}

#[test]
fn the_log_line_is_one_json_object_with_every_field() {
    let line: Value = serde_json::from_str(&record().log_line()).unwrap();
    assert_eq!(
        line,
        json!({"msg": "request", "requestId": "8f1c2a3b4c5d6e7f-FRA", "route": "Register",
               "method": "POST", "status": 400, "statusClass": "4xx",
               "errorCode": "INVALID_SIGNATURE", "durationMs": 12, "d1Primary": 1,
               "d1Replica": 0, "kvCalls": 1, "d1RowsRead": 7, "d1RowsWritten": 0,
               "kvReads": 1, "kvWrites": 0, "country": "DE", "colo": "FRA"})
    );
    assert!(!record().log_line().contains('\n'));
}

#[test]
fn the_log_line_is_printed_as_the_json_map_printed_it() {
    let r = RequestRecord {
        error_code: None,
        country: None,
        ..record()
    };
    for r in [record(), r] {
        let as_map = json!({"msg": "request", "requestId": r.request_id,
            "route": route_name(r.route), "method": r.method, "status": r.status,
            "statusClass": status_class(r.status), "errorCode": r.error_code,
            "durationMs": r.duration_ms, "d1Primary": r.d1_primary,
            "d1Replica": r.d1_replica, "kvCalls": r.kv_calls,
            "d1RowsRead": r.d1_rows_read, "d1RowsWritten": r.d1_rows_written,
            "kvReads": r.kv_reads, "kvWrites": r.kv_writes, "country": r.country,
            "colo": r.colo});
        assert_eq!(r.log_line(), as_map.to_string());
    }
}

#[test]
fn the_data_point_keeps_its_column_positions() {
    let (index, blobs, doubles) = record().data_point();
    assert_eq!(index, "Register");
    assert_eq!(
        blobs,
        ["Register", "4xx", "INVALID_SIGNATURE", "POST", "DE", "FRA"]
    );
    assert_eq!(doubles, [400.0, 12.0, 1.0, 0.0, 1.0, 7.0, 0.0, 1.0, 0.0]);
    let unmatched = RequestRecord {
        route: None,
        error_code: None,
        country: None,
        colo: None,
        ..record()
    };
    assert_eq!(
        unmatched.data_point().1,
        ["Unmatched", "4xx", "", "POST", "", ""]
    );
}

#[test]
fn error_codes_come_from_every_family_shape() {
    let code = |status, body: &str| error_code(status, body.as_bytes());
    assert_eq!(code(200, r#"{"success":true}"#), None);
    assert_eq!(
        code(
            401,
            r#"{"success":false,"error_code":"INVALID_CREDENTIALS","message":"x"}"#
        )
        .as_deref(),
        Some("INVALID_CREDENTIALS")
    );
    assert_eq!(
        code(422, r#"{"detail":[{"type":"missing","loc":["body","secret"],"msg":"Field required","input":{"node_id":"n"}}]}"#).as_deref(),
        Some("MISSING")
    );
    assert_eq!(
        code(
            400,
            r#"{"success":false,"message":"Replay detected: this signed request was already used"}"#
        )
        .as_deref(),
        Some("REPLAY_DETECTED")
    );
    assert_eq!(
        code(400, r#"{"success":false,"message":"Invalid signature"}"#).as_deref(),
        Some("INVALID_SIGNATURE")
    );
    assert_eq!(
        code(404, r#"{"detail":"Not Found"}"#).as_deref(),
        Some("HTTP_404")
    );
    assert_eq!(
        code(
            429,
            r#"{"success":false,"message":"Too many requests; retry after 60 seconds"}"#
        )
        .as_deref(),
        Some("TOO_MANY_REQUESTS")
    );
    // A refusal rendered as a page for a form: the problem's code, as its JSON has.
    assert_eq!(
        code(500, "<!doctype html>").as_deref(),
        Some("INTERNAL_ERROR")
    );
    assert_eq!(
        code(429, "<!doctype html>").as_deref(),
        Some("RATE_LIMITED")
    );
    assert_eq!(
        code(503, "<!doctype html>").as_deref(),
        Some("SERVICE_UNAVAILABLE")
    );
    assert_eq!(code(400, "<!doctype html>").as_deref(), Some("HTTP_400"));
}

#[test]
fn nothing_a_client_sent_rides_along_in_an_error_code() {
    // A message quoting input after a colon keeps only its head; odd characters go.
    let body = r#"{"success":false,"message":"Invalid timestamp: <script>hunter2</script>"}"#;
    assert_eq!(
        error_code(400, body.as_bytes()).as_deref(),
        Some("INVALID_TIMESTAMP")
    );
    let long = format!(r#"{{"success":false,"message":"{}"}}"#, "A".repeat(500));
    assert_eq!(error_code(400, long.as_bytes()).unwrap().len(), MAX_CODE);
}

#[test]
fn a_mail_that_was_not_sent_is_one_line_and_one_point_without_addresses() {
    let failure = MailNotSent {
        mail: "verification",
        error: "Error: sender no-reply@evil.example not allowed for ada@acme.io",
    };
    assert_eq!(failure.error_code(), "ERROR_SENDER_NOT_ALLOWED_FOR");
    let line = failure.log_line();
    assert!(!line.contains('@') && !line.contains("acme"), "{line}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&line).unwrap()["msg"],
        "mail_not_sent"
    );
    assert_eq!(failure.data_point().1[0], "mail_not_sent");
    assert_eq!(
        MailNotSent {
            mail: "x",
            error: ""
        }
        .error_code(),
        "SEND_FAILED"
    );
}

#[test]
fn the_request_id_is_the_ray_or_random() {
    assert_eq!(
        request_id(Some("8f1c2a3b4c5d6e7f-FRA"), || [0; 16]),
        "8f1c2a3b4c5d6e7f-FRA"
    );
    let random = request_id(None, || [0xab; 16]);
    assert_eq!(random, "ab".repeat(16));
    // Not a ray id (a client's forgery with spaces, quotes, or far too long): random.
    assert_eq!(request_id(Some("evil\" id"), || [1; 16]), "01".repeat(16));
    assert_eq!(
        request_id(Some(&"a".repeat(65)), || [1; 16]),
        "01".repeat(16)
    );
}
