//! HTTP plumbing shared by every route: bounded body reading and response rendering.

use futures_util::StreamExt;
use gatehouse_core::account::verification::{html_escape, page};
use gatehouse_core::http::problem::{Family, Problem};
use gatehouse_core::{header_section_bytes, MAX_BODY_BYTES, MAX_HEADER_BYTES};
use serde::Serialize;
use worker::{Headers, Request, Response, ResponseBuilder};

/// What is refused from the request line and headers alone, before routing: a
/// header section over [`MAX_HEADER_BYTES`] or a declared body over [`MAX_BODY_BYTES`].
pub fn refused_before_reading(req: &Request) -> Option<Problem> {
    let entries = header_entries(req);
    let header_bytes = header_section_bytes(entries.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    if header_bytes > MAX_HEADER_BYTES {
        Some(Problem::HeadersTooLarge {
            limit: MAX_HEADER_BYTES,
        })
    } else if declared_too_large(req) {
        Some(Problem::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        })
    } else {
        None
    }
}

/// Every header (name, value) of the request, as the `Headers` iterator yields them
/// (a repeated `Set-Cookie` stays separate). Fetched as one JSON text: `Array.from`
/// and `JSON.stringify` are two calls across the JS boundary, where workers-rs'
/// `Headers::entries` makes about seven per header (docs/rust-vs-js.md, "What was
/// found and done"). Should the text ever not parse, the iterator is used after all.
fn header_entries(req: &Request) -> Vec<(String, String)> {
    let headers: &wasm_bindgen::JsValue = req.headers().as_ref();
    let text = worker::js_sys::JSON::stringify(&worker::js_sys::Array::from(headers))
        .ok()
        .and_then(|t| t.as_string());
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| req.headers().entries().collect())
}

/// Whether the request declares (`Content-Length`) a body over [`MAX_BODY_BYTES`].
fn declared_too_large(req: &Request) -> bool {
    declared_length(req).is_some_and(|len| len > MAX_BODY_BYTES as u64)
}

/// The body length the request declares (`Content-Length`), if it declares one.
fn declared_length(req: &Request) -> Option<u64> {
    let declared = req.headers().get("content-length").ok().flatten();
    declared.and_then(|v| v.trim().parse::<u64>().ok())
}

/// Reads the request body, refusing more than [`MAX_BODY_BYTES`]. A declared
/// `Content-Length` over the limit is refused before anything is read, one within it
/// is read whole; a body without one (chunked) is counted as it streams in and
/// refused as soon as it passes the limit, so no client can make the worker buffer
/// more than the limit.
pub async fn read_body(req: &mut Request) -> Result<Vec<u8>, Problem> {
    let too_large = Problem::PayloadTooLarge {
        limit: MAX_BODY_BYTES,
    };
    let declared = declared_length(req);
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return Err(too_large);
    }
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    let read_failed = |e: worker::Error| {
        worker::console_error!("reading request body failed: {e}");
        Problem::Internal
    };
    let chunked = req.headers().has("transfer-encoding").unwrap_or(true);
    if declared.is_some() && !chunked {
        // Within the limit (checked above) and, without a transfer coding, held to the
        // declared length by HTTP framing: read in one call. Read chunk by chunk
        // through a stream reader instead, every request cost ~0.5 ms more CPU than the
        // JS anchor's (docs/rust-vs-js.md, "What was found and done"). Checked again
        // regardless.
        let body = req.bytes().await.map_err(read_failed)?;
        return match body.len() > MAX_BODY_BYTES {
            true => Err(too_large),
            false => Ok(body),
        };
    }
    let mut stream = req.stream().map_err(read_failed)?;
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(read_failed)?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether the body is an HTML form's (`application/x-www-form-urlencoded`): the
/// confirmation and reset pages post these, API clients send JSON.
pub fn is_form(req: &Request) -> bool {
    req.headers()
        .get("content-type")
        .ok()
        .flatten()
        .is_some_and(|t| {
            t.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// An HTML page (the emailed links' pages and what their forms answer). Pages are
/// never framed (no clickjacking of their buttons: `frame-ancestors 'none'`, and
/// `X-Frame-Options` for older browsers), load nothing from elsewhere, post forms only
/// to the worker, and never send the link's token onward in a `Referer` to anyone but
/// anyone (`no-referrer`). Under `no-referrer` browsers post the form with `Origin:
/// null`; the cross-site refusal (core::http::form_origin) accepts that only with the
/// browser's own `Sec-Fetch-Site: same-origin` (tests/browser/pages.mjs submits both
/// pages in Chromium).
pub fn html(status: u16, body: String) -> Response {
    let response = with_headers(status, body, "text/html; charset=utf-8");
    let headers = response.headers();
    // Constant, valid header names and values: `set` cannot fail here.
    let _ = headers.set(
        "content-security-policy",
        "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    let _ = headers.set("x-frame-options", "DENY");
    let _ = headers.set("referrer-policy", "no-referrer");
    response
}

/// A JSON response with the headers every API answer carries.
pub fn json<T: Serialize>(status: u16, body: &T) -> Response {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    with_headers(status, text, "application/json")
}

/// Renders a transport-level problem in `family`'s error shape.
pub fn problem_response(problem: &Problem, family: Family) -> Response {
    let response = json(problem.status(), &problem.body(family));
    if let Some(retry_after_seconds) = problem.retry_after_seconds() {
        let _ = response
            .headers()
            .set("retry-after", &retry_after_seconds.to_string());
    }
    response
}

/// [`problem_response`] as a page, for a form a person sent: the same status, message
/// and `Retry-After`.
pub fn problem_page(problem: &Problem) -> Response {
    let title = match problem {
        Problem::RateLimited { .. } => "Too many attempts",
        _ => "Not done",
    };
    let body = format!("<p>{}</p>", html_escape(&problem.message()));
    let response = html(problem.status(), page(title, &body));
    if let Some(retry_after_seconds) = problem.retry_after_seconds() {
        let _ = response
            .headers()
            .set("retry-after", &retry_after_seconds.to_string());
    }
    response
}

pub fn with_headers(status: u16, body: String, content_type: &str) -> Response {
    let headers = Headers::new();
    // Constant, valid header names and values: `set` cannot fail here.
    let _ = headers.set("content-type", content_type);
    let _ = headers.set("x-content-type-options", "nosniff");
    let _ = headers.set("cache-control", "no-store");
    ResponseBuilder::new()
        .with_status(status)
        .with_headers(headers)
        .fixed(body.into_bytes())
}
