//! What the worker tells its operator about each request: one structured log line and
//! one metrics data point (docs/operations.md).
//!
//! Why here: what goes into a log line is a security decision (never a password,
//! token, secret, signature, key or email address), so it is made in one pure place
//! and tested; the worker only prints the line and hands the data point to Workers
//! Analytics Engine. Fields come only from what the worker itself decided (route,
//! status, counts, its own error codes) and from Cloudflare's request metadata, never
//! from the request body.

use crate::http::routes::RouteId;
use serde::Serialize;
use serde_json::Value;

/// Everything recorded about one answered request.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    pub request_id: String,
    /// `None` when no route matched (404/405) or before routing.
    pub route: Option<RouteId>,
    pub method: String,
    pub status: u16,
    /// The answer's own error code, for answers of 400 and above (see [`error_code`]).
    pub error_code: Option<String>,
    pub duration_ms: u64,
    pub d1_primary: u32,
    pub d1_replica: u32,
    /// KV reads and writes together (kept for the queries written before they were
    /// counted apart).
    pub kv_calls: u32,
    /// What Cloudflare bills (docs/performance.md, "What a request costs"): D1 rows
    /// from each result's `meta`, KV operations (a write scheduled after the answer
    /// included).
    pub d1_rows_read: u64,
    pub d1_rows_written: u64,
    pub kv_reads: u32,
    pub kv_writes: u32,
    /// Cloudflare's `request.cf.country` / `colo`, when present.
    pub country: Option<String>,
    pub colo: Option<String>,
}

/// The route's name as logged and counted: the route id, not the raw path (which
/// carries organization, key and token ids).
pub fn route_name(route: Option<RouteId>) -> String {
    route.map_or_else(|| "Unmatched".to_owned(), RouteId::name)
}

/// `2xx`, `4xx`, `5xx`…
pub fn status_class(status: u16) -> String {
    format!("{}xx", status / 100)
}

impl RequestRecord {
    /// The log line: one JSON object (Workers Logs indexes its fields).
    pub fn log_line(&self) -> String {
        // A struct, not a `json!` tree: written straight out, without building a map
        // per request. Fields in the order the map printed them (sorted by name), so
        // the line is byte for byte what it was (tested below).
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Line<'a> {
            colo: &'a Option<String>,
            country: &'a Option<String>,
            d1_primary: u32,
            d1_replica: u32,
            d1_rows_read: u64,
            d1_rows_written: u64,
            duration_ms: u64,
            error_code: &'a Option<String>,
            kv_calls: u32,
            kv_reads: u32,
            kv_writes: u32,
            method: &'a str,
            msg: &'a str,
            request_id: &'a str,
            route: String,
            status: u16,
            status_class: String,
        }
        let line = Line {
            colo: &self.colo,
            country: &self.country,
            d1_primary: self.d1_primary,
            d1_replica: self.d1_replica,
            d1_rows_read: self.d1_rows_read,
            d1_rows_written: self.d1_rows_written,
            duration_ms: self.duration_ms,
            error_code: &self.error_code,
            kv_calls: self.kv_calls,
            kv_reads: self.kv_reads,
            kv_writes: self.kv_writes,
            method: &self.method,
            msg: "request",
            request_id: &self.request_id,
            route: route_name(self.route),
            status: self.status,
            status_class: status_class(self.status),
        };
        serde_json::to_string(&line).unwrap_or_default()
    }

    /// The Analytics Engine data point: (index, blobs, doubles). Positions are the SQL
    /// columns (`blob1`…, `double1`…) docs/operations.md's queries use; append, never reorder.
    pub fn data_point(&self) -> (String, Vec<String>, Vec<f64>) {
        let route = route_name(self.route);
        (
            route.clone(),
            vec![
                route,                                       // blob1
                status_class(self.status),                   // blob2
                self.error_code.clone().unwrap_or_default(), // blob3
                self.method.clone(),                         // blob4
                self.country.clone().unwrap_or_default(),    // blob5
                self.colo.clone().unwrap_or_default(),       // blob6
            ],
            vec![
                f64::from(self.status),      // double1
                self.duration_ms as f64,     // double2
                f64::from(self.d1_primary),  // double3
                f64::from(self.d1_replica),  // double4
                f64::from(self.kv_calls),    // double5
                self.d1_rows_read as f64,    // double6
                self.d1_rows_written as f64, // double7
                f64::from(self.kv_reads),    // double8
                f64::from(self.kv_writes),   // double9
            ],
        )
    }
}

/// The longest error code kept; anything longer is cut.
const MAX_CODE: usize = 48;

/// The error code of an answer of 400 and above, from its body in any of the route
/// families' shapes: `error_code` (accounts, common), the first `detail[].type`
/// (FastAPI), or the `message` of the bridge family turned into a code
/// (`"Replay detected: …"` → `REPLAY_DETECTED`: the text before any `:;.(` only,
/// letters and digits only, so no value a client sent can ride along). `None` for
/// success.
pub fn error_code(status: u16, body: &[u8]) -> Option<String> {
    if status < 400 {
        return None;
    }
    let fallback = || Some(format!("HTTP_{status}"));
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return fallback();
    };
    if let Some(code) = value.get("error_code").and_then(Value::as_str) {
        return Some(code_from_text(code));
    }
    if let Some(kind) = value
        .get("detail")
        .and_then(Value::as_array)
        .and_then(|d| d.first())
        .and_then(|e| e.get("type"))
        .and_then(Value::as_str)
    {
        return Some(code_from_text(kind));
    }
    if let Some(message) = value.get("message").and_then(Value::as_str) {
        let head = message.split([':', ';', '.', '(']).next().unwrap_or("");
        let code = code_from_text(head);
        if !code.is_empty() {
            return Some(code);
        }
    }
    fallback()
}

fn code_from_text(text: &str) -> String {
    let mut code = String::new();
    for c in text.chars() {
        if code.len() >= MAX_CODE {
            break;
        }
        if c.is_ascii_alphanumeric() {
            code.push(c.to_ascii_uppercase());
        } else if !code.is_empty() && !code.ends_with('_') {
            code.push('_');
        }
    }
    code.trim_end_matches('_').to_owned()
}

/// A mail the worker could not hand to its `send_email` binding. Mail goes out after
/// the answer (`wait_until`), so the request's own line already said 2xx: this line and
/// data point make the failure visible. The binding's message is reduced to a code, and
/// any word with an `@` (a recipient or sender address) is dropped first.
pub struct MailNotSent<'a> {
    /// Which mail: `verification`, `password reset`.
    pub mail: &'a str,
    pub error: &'a str,
}

impl MailNotSent<'_> {
    pub fn error_code(&self) -> String {
        let words: Vec<&str> = self
            .error
            .split_whitespace()
            .filter(|w| !w.contains('@'))
            .collect();
        let code = code_from_text(&words.join(" "));
        if code.is_empty() {
            "SEND_FAILED".to_owned()
        } else {
            code
        }
    }

    pub fn log_line(&self) -> String {
        serde_json::json!({
            "msg": "mail_not_sent", "mail": self.mail, "errorCode": self.error_code(),
        })
        .to_string()
    }

    /// Index `mail`; blobs: event, which mail, error code; double: 1 (a count).
    pub fn data_point(&self) -> (String, Vec<String>, Vec<f64>) {
        (
            "mail".to_owned(),
            vec![
                "mail_not_sent".to_owned(),
                self.mail.to_owned(),
                self.error_code(),
            ],
            vec![1.0],
        )
    }
}

/// The request id: Cloudflare's `cf-ray` (which Cloudflare's own logs and support
/// know) when the request has one, else 16 random bytes in hex. A client cannot
/// choose it: anything that is not a plausible ray id is ignored.
/// `random` is called only when there is no usable ray id.
pub fn request_id(cf_ray: Option<&str>, random: impl FnOnce() -> [u8; 16]) -> String {
    match cf_ray {
        Some(ray)
            if (1..=64).contains(&ray.len())
                && ray.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            ray.to_owned()
        }
        _ => crate::crypto::hex(&random()),
    }
}

#[cfg(test)]
mod tests {
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
            code(400, r#"{"success":false,"message":"Replay detected: this signed request was already used"}"#).as_deref(),
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
        assert_eq!(code(500, "not json").as_deref(), Some("HTTP_500"));
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
}
