//! Transport-level problems (unknown route, body too large, internal failure…) and the
//! one place that renders them in the error shape of the route family they hit.
//!
//! Each family keeps the error shape its existing clients already parse:
//! - [`Family::Common`] and [`Family::Account`] (`/user/*`, `/organization/*`):
//!   `{"success":false,"error_code":"…","message":"…"}`
//! - [`Family::Bridge`] (`/register`): `{"success":false,"message":"…"}`
//! - [`Family::FastApi`] (`/register_node_secret`): FastAPI's `{"detail":"…"}`
//!
//! Domain errors of each route (validation and so on) are rendered by that route's own
//! module in the same shape; this module covers what can happen on any route.

use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    Common,
    Bridge,
    FastApi,
    Account,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge {
        limit: usize,
    },
    HeadersTooLarge {
        limit: usize,
    },
    /// Too many requests from this client (or for this account); retry after the
    /// given number of seconds (sent as `Retry-After`).
    RateLimited {
        retry_after_seconds: u32,
    },
    /// A dependency the route cannot safely do without is down (KV for /register's
    /// replay nonces): refuse rather than run without it, and say when to retry.
    Unavailable {
        dependency: &'static str,
        retry_after_seconds: u32,
    },
    /// A required configuration value or secret is missing or invalid. The details go to
    /// the log (by name, never by value); the client only learns that it is our fault.
    Misconfigured,
    /// Anything else that is our fault: D1/KV failures, a panic. Never carries internals.
    Internal,
}

impl Problem {
    /// One of each kind, for tests that hold documents to every code the worker emits.
    pub const EXAMPLES: [Problem; 8] = [
        Problem::NotFound,
        Problem::MethodNotAllowed,
        Problem::PayloadTooLarge { limit: 0 },
        Problem::HeadersTooLarge { limit: 0 },
        Problem::RateLimited {
            retry_after_seconds: 0,
        },
        Problem::Unavailable {
            dependency: "",
            retry_after_seconds: 0,
        },
        Problem::Misconfigured,
        Problem::Internal,
    ];

    pub fn status(&self) -> u16 {
        match self {
            Problem::NotFound => 404,
            Problem::MethodNotAllowed => 405,
            Problem::PayloadTooLarge { .. } => 413,
            Problem::HeadersTooLarge { .. } => 431,
            Problem::RateLimited { .. } => 429,
            Problem::Unavailable { .. } => 503,
            Problem::Misconfigured | Problem::Internal => 500,
        }
    }

    pub fn error_code(&self) -> &'static str {
        match self {
            Problem::NotFound => "NOT_FOUND",
            Problem::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Problem::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            Problem::HeadersTooLarge { .. } => "HEADERS_TOO_LARGE",
            Problem::RateLimited { .. } => "RATE_LIMITED",
            Problem::Unavailable { .. } => "SERVICE_UNAVAILABLE",
            Problem::Misconfigured | Problem::Internal => "INTERNAL_ERROR",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Problem::NotFound => "Not Found".to_owned(),
            Problem::MethodNotAllowed => "Method Not Allowed".to_owned(),
            Problem::PayloadTooLarge { limit } => {
                format!("Request body too large (limit {limit} bytes)")
            }
            Problem::HeadersTooLarge { limit } => {
                format!("Request headers too large (limit {limit} bytes)")
            }
            Problem::RateLimited {
                retry_after_seconds,
            } => {
                format!("Too many requests; retry after {retry_after_seconds} seconds")
            }
            Problem::Unavailable {
                dependency,
                retry_after_seconds,
            } => format!(
                "{dependency} is unavailable; nothing was stored. Retry after {retry_after_seconds} seconds"
            ),
            Problem::Misconfigured | Problem::Internal => "Internal Server Error".to_owned(),
        }
    }

    /// Seconds for the `Retry-After` header, for problems that pass with time.
    pub fn retry_after_seconds(&self) -> Option<u32> {
        match self {
            Problem::RateLimited {
                retry_after_seconds,
            }
            | Problem::Unavailable {
                retry_after_seconds,
                ..
            } => Some(*retry_after_seconds),
            _ => None,
        }
    }

    /// The JSON body for this problem in `family`'s shape.
    pub fn body(&self, family: Family) -> Value {
        match family {
            Family::Common | Family::Account => json!({
                "success": false,
                "error_code": self.error_code(),
                "message": self.message(),
            }),
            Family::Bridge => json!({
                "success": false,
                // The /register contract promises exactly this text for server faults.
                "message": match self {
                    Problem::Misconfigured | Problem::Internal => "Registration failed".to_owned(),
                    _ => self.message(),
                },
            }),
            // FastAPI/Starlette answer 404/405 with {"detail":"Not Found"} and
            // {"detail":"Method Not Allowed"}; keep that for this family's clients.
            Family::FastApi => json!({ "detail": self.message() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_shape_has_code_and_message() {
        assert_eq!(
            Problem::NotFound.body(Family::Common),
            json!({"success": false, "error_code": "NOT_FOUND", "message": "Not Found"})
        );
    }

    #[test]
    fn bridge_server_faults_never_leak_details() {
        for p in [Problem::Internal, Problem::Misconfigured] {
            assert_eq!(p.status(), 500);
            assert_eq!(
                p.body(Family::Bridge),
                json!({"success": false, "message": "Registration failed"})
            );
        }
    }

    #[test]
    fn fastapi_family_uses_starlette_texts() {
        assert_eq!(
            Problem::NotFound.body(Family::FastApi),
            json!({"detail": "Not Found"})
        );
        assert_eq!(
            Problem::MethodNotAllowed.body(Family::FastApi),
            json!({"detail": "Method Not Allowed"})
        );
    }

    #[test]
    fn rate_limited_in_every_family() {
        let p = Problem::RateLimited {
            retry_after_seconds: 60,
        };
        assert_eq!(p.status(), 429);
        assert_eq!(p.body(Family::Account)["error_code"], "RATE_LIMITED");
        assert!(p.body(Family::Bridge)["message"]
            .as_str()
            .unwrap()
            .starts_with("Too many requests"));
        assert!(p.body(Family::FastApi)["detail"]
            .as_str()
            .unwrap()
            .starts_with("Too many requests"));
    }

    #[test]
    fn unavailable_is_a_503_that_names_the_dependency_in_every_family() {
        let p = Problem::Unavailable {
            dependency: "Replay protection",
            retry_after_seconds: 30,
        };
        assert_eq!(p.status(), 503);
        assert_eq!(p.retry_after_seconds(), Some(30));
        let text = "Replay protection is unavailable; nothing was stored. Retry after 30 seconds";
        assert_eq!(
            p.body(Family::Bridge),
            json!({"success": false, "message": text})
        );
        assert_eq!(p.body(Family::Account)["error_code"], "SERVICE_UNAVAILABLE");
        assert_eq!(p.body(Family::FastApi), json!({"detail": text}));
        assert_eq!(Problem::Internal.retry_after_seconds(), None);
    }

    #[test]
    fn too_large_names_the_limit() {
        let p = Problem::PayloadTooLarge { limit: 65536 };
        assert_eq!(p.status(), 413);
        assert_eq!(p.body(Family::Account)["error_code"], "PAYLOAD_TOO_LARGE");
        assert!(p.message().contains("65536"));
        let p = Problem::HeadersTooLarge { limit: 16384 };
        assert_eq!(p.status(), 431);
        assert_eq!(
            p.body(Family::FastApi),
            json!({"detail": "Request headers too large (limit 16384 bytes)"})
        );
    }
}
