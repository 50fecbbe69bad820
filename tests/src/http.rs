//! A small blocking HTTP client for tests: every status is a normal response.

use crate::TestApp;
use serde_json::Value;
use std::io::Read;

#[derive(Debug, Clone)]
pub struct TestResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl TestResponse {
    /// The body as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    /// The JSON body of a 5xx answer without its `requestId`, after checking that it
    /// names this request (the `x-request-id` header).
    pub fn server_error_body(&self) -> Value {
        let mut body = self.json();
        let id = body
            .as_object_mut()
            .and_then(|o| o.remove("requestId"))
            .unwrap_or_else(|| panic!("a 5xx body carries requestId: {}", self.body));
        assert_eq!(
            Some(id.as_str().unwrap_or_default()),
            self.header("x-request-id")
        );
        body
    }

    /// (primary, all) D1 round trips of the answer, as the TEST_HOOKS headers count
    /// them (their total checked against the two parts).
    pub fn d1_round_trips(&self) -> (u32, u32) {
        let count = |name: &str| self.count(name) as u32;
        let (primary, replica) = (
            count("x-gatehouse-d1-primary"),
            count("x-gatehouse-d1-replica"),
        );
        assert_eq!(primary + replica, count("x-gatehouse-d1-round-trips"));
        (primary, primary + replica)
    }

    /// A count the worker reports in header `name` under TEST_HOOKS (round trips, rows,
    /// RSA operations); panics when it is missing.
    pub fn count(&self, name: &str) -> u64 {
        self.header(name)
            .unwrap_or_else(|| panic!("{name} header"))
            .parse()
            .unwrap_or_else(|e| panic!("{name} header: {e}"))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl TestApp {
    pub fn get(&self, path: &str) -> TestResponse {
        self.request("GET", path, &[], None)
    }

    pub fn post_json(&self, path: &str, body: &Value) -> TestResponse {
        self.request(
            "POST",
            path,
            &[("content-type", "application/json")],
            Some(body.to_string().as_bytes()),
        )
    }

    /// POST JSON as it reaches the worker through Cloudflare from the client address
    /// `ip` (`CF-Connecting-IP`, which Cloudflare sets).
    pub fn post_json_from(&self, ip: &str, path: &str, body: &Value) -> TestResponse {
        self.request(
            "POST",
            path,
            &[
                ("content-type", "application/json"),
                ("cf-connecting-ip", ip),
            ],
            Some(body.to_string().as_bytes()),
        )
    }

    /// POST JSON with `Authorization: Bearer <token>`.
    pub fn post_json_as(&self, token: &str, path: &str, body: &Value) -> TestResponse {
        self.request_as(token, "POST", path, Some(body))
    }

    /// Any method with `Authorization: Bearer <token>` and an optional JSON body.
    pub fn request_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> TestResponse {
        let auth = format!("Bearer {token}");
        let text = body.map(Value::to_string);
        let headers = [
            ("content-type", "application/json"),
            ("authorization", auth.as_str()),
        ];
        self.request(method, path, &headers, text.as_deref().map(str::as_bytes))
    }

    /// Any method, headers and raw body, for the cases a well-behaved client never sends.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> TestResponse {
        let _in_flight = self.in_flight();
        let mut req = self.agent.request(method, &self.url(path));
        for (name, value) in headers {
            req = req.set(name, value);
        }
        let result = match body {
            Some(bytes) => req.send_bytes(bytes),
            None => req.call(),
        };
        let response = match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: no HTTP answer: {e}\n{}", self.log()),
        };
        let status = response.status();
        if status == 500 {
            self.print_log_tail(method, path);
        }
        let headers = response
            .headers_names()
            .into_iter()
            .filter_map(|n| response.header(&n).map(|v| (n.clone(), v.to_owned())))
            .collect();
        let mut body = String::new();
        response
            .into_reader()
            .read_to_string(&mut body)
            .expect("read body");
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// On a 500, the worker's last log lines go to the test's output (shown if the
    /// test fails): a shared worker's log is gone with its directory once the binary
    /// exits, and an unexpected 500 in CI is otherwise a status without a cause.
    fn print_log_tail(&self, method: &str, path: &str) {
        // The worker's console output reaches wrangler's log just after the response.
        std::thread::sleep(std::time::Duration::from_millis(300));
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        eprintln!("{method} {path} answered 500; the worker's log ends:\n{tail}");
    }
}
