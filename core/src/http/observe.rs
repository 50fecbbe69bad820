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
/// letters and digits only, so no value a client sent can ride along). A page (not
/// JSON) of 429, 500 or 503 is a refusal rendered for a form (crate::http::problem:
/// the link pages): the problem's own code. `None` for success.
pub fn error_code(status: u16, body: &[u8]) -> Option<String> {
    if status < 400 {
        return None;
    }
    let fallback = || Some(format!("HTTP_{status}"));
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        let page = match status {
            429 => "RATE_LIMITED",
            500 => "INTERNAL_ERROR",
            503 => "SERVICE_UNAVAILABLE",
            _ => return fallback(),
        };
        return Some(page.to_owned());
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
mod tests;
