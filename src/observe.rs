//! The operator's view of each request (docs/operations.md): an `x-request-id` on
//! every answer (and in every 5xx body), one structured log line, one Workers
//! Analytics Engine data point. What goes into them is decided in core::http::observe; this
//! module only reads Cloudflare's request metadata, prints and writes.

use crate::store::db::Cost;
use gatehouse_core::http::observe::{self, RequestRecord};
use serde::Serialize;
use serde_json::{json, Value};
use wasm_bindgen::{JsCast, JsValue};
use worker::{Env, Request, Response, ResponseBody};

/// The Analytics Engine dataset binding, as declared in wrangler.toml.
pub const METRICS_BINDING: &str = "METRICS";
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// What is known about a request before it is answered.
pub struct Arrival {
    pub request_id: String,
    pub method: String,
    pub at_ms: f64,
    pub country: Option<String>,
    pub colo: Option<String>,
}

impl Arrival {
    pub fn of(req: &Request) -> Arrival {
        let ray = req.headers().get("cf-ray").ok().flatten();
        // No randomness (never seen on Workers): a fixed id still lets the line print.
        let random = || gatehouse_core::crypto::random_bytes::<16>().unwrap_or([0; 16]);
        Arrival {
            request_id: observe::request_id(ray.as_deref(), random),
            method: req.inner().method(),
            at_ms: worker::js_sys::Date::now(),
            // Cloudflare's edge sets cf-ray and fills `request.cf`; without it (wrangler
            // dev) the cf object is simulated (colo "DFW"), so no location is made up.
            country: ray.as_ref().and_then(|_| cf_text(req, "country")),
            colo: ray.as_ref().and_then(|_| cf_text(req, "colo")),
        }
    }
}

/// `request.cf[name]` as text, read without workers-rs' accessors (which panic when
/// a field is absent, as it may be outside Cloudflare's network). Only short
/// letter codes are kept (`DE`, `FRA`).
fn cf_text(req: &Request, name: &str) -> Option<String> {
    let cf = worker::js_sys::Reflect::get(req.inner(), &JsValue::from_str("cf")).ok()?;
    let value = worker::js_sys::Reflect::get(&cf, &JsValue::from_str(name))
        .ok()?
        .as_string()?;
    (value.len() <= 8 && value.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(value)
}

/// Logs the request, writes its data point, and returns the answer with its
/// `x-request-id` (and, for a 5xx JSON answer, the id in the body, so a user's report
/// can be matched to the log line). With test hooks on, the data point written is
/// echoed in `x-gatehouse-metric` (wrangler keeps no local copy to read back).
pub fn finish(
    env: &Env,
    arrival: &Arrival,
    route: Option<gatehouse_core::http::routes::RouteId>,
    cost: Cost,
    response: Response,
    test_hooks: bool,
) -> Response {
    let status = response.status_code();
    let body = match response.body() {
        ResponseBody::Body(bytes) => bytes.as_slice(),
        _ => &[],
    };
    let record = RequestRecord {
        request_id: arrival.request_id.clone(),
        route,
        method: arrival.method.clone(),
        status,
        error_code: observe::error_code(status, body),
        duration_ms: (worker::js_sys::Date::now() - arrival.at_ms).max(0.0) as u64,
        d1_primary: cost.d1_primary,
        d1_replica: cost.d1_replica,
        kv_calls: cost.kv_reads + cost.kv_writes,
        d1_rows_read: cost.d1_rows_read,
        d1_rows_written: cost.d1_rows_written,
        kv_reads: cost.kv_reads,
        kv_writes: cost.kv_writes,
        country: arrival.country.clone(),
        colo: arrival.colo.clone(),
    };
    worker::console_log!("{}", record.log_line());
    let response = if status >= 500 {
        with_request_id_in_body(response, &arrival.request_id)
    } else {
        response
    };
    let headers = response.headers();
    let _ = headers.set(REQUEST_ID_HEADER, &arrival.request_id);
    let (index, blobs, doubles) = record.data_point();
    let point = point_json(&index, &blobs, &doubles);
    match write_point_json(env, &point) {
        Ok(()) if test_hooks => {
            let _ = headers.set("x-gatehouse-metric", &point);
        }
        Ok(()) => {}
        Err(e) => worker::console_warn!("metrics: data point not written: {e}"),
    }
    response
}

/// Logs and counts a mail the binding refused (core::http::observe::MailNotSent).
pub fn mail_not_sent(env: &Env, mail: &str, error: &str) {
    let failure = observe::MailNotSent { mail, error };
    worker::console_error!("{}", failure.log_line());
    let (index, blobs, doubles) = failure.data_point();
    if let Err(e) = write_data_point(env, &index, &blobs, &doubles) {
        worker::console_warn!("metrics: data point not written: {e}");
    }
}

/// Non-blocking by design: the binding queues the point and returns at once.
pub(crate) fn write_data_point(
    env: &Env,
    index: &str,
    blobs: &[String],
    doubles: &[f64],
) -> worker::Result<()> {
    write_point_json(env, &point_json(index, blobs, doubles))
}

/// The data point as the binding takes it, in JSON (fields in the order serde_json's
/// `json!` printed them, so `x-gatehouse-metric` reads as before).
fn point_json(index: &str, blobs: &[String], doubles: &[f64]) -> String {
    #[derive(Serialize)]
    struct Point<'a> {
        blobs: &'a [String],
        doubles: &'a [f64],
        indexes: [&'a str; 1],
    }
    let point = Point {
        blobs,
        doubles,
        indexes: [index],
    };
    serde_json::to_string(&point).unwrap_or_default()
}

/// Writes a data point given as JSON: one `JSON.parse` across the JS boundary instead
/// of workers-rs' builder, which makes a call per array element and field (~30 calls;
/// ~0.1 ms CPU per request, docs/rust-vs-js.md, "What was found and done").
fn write_point_json(env: &Env, point: &str) -> worker::Result<()> {
    let dataset = env.analytics_engine(METRICS_BINDING)?;
    let point = worker::js_sys::JSON::parse(point)?;
    let dataset: &worker::worker_sys::AnalyticsEngineDataset = dataset.as_ref().unchecked_ref();
    Ok(dataset.write_data_point(point)?)
}

/// The request id in a 5xx body: a JSON answer's `requestId`, or a page's closing
/// paragraph (a form's refusal, crate::http::problem_page; the id is letters, digits and
/// dashes: core::http::observe::request_id).
fn with_request_id_in_body(response: Response, request_id: &str) -> Response {
    let ResponseBody::Body(bytes) = response.body() else {
        return response;
    };
    let text = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(mut body)) => {
            body.insert("requestId".into(), json!(request_id));
            Value::Object(body).to_string()
        }
        _ => match std::str::from_utf8(bytes)
            .ok()
            .and_then(|page| page.split_once("</main>"))
        {
            Some((head, tail)) => {
                format!("{head}<p>Reference: <code>{request_id}</code></p></main>{tail}")
            }
            None => return response,
        },
    };
    let status = response.status_code();
    let headers = response.headers().clone();
    match Response::from_bytes(text.into_bytes()) {
        Ok(r) => r.with_status(status).with_headers(headers),
        Err(_) => response,
    }
}
