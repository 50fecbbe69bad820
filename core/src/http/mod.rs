//! The HTTP surface as data: the route table, the OpenAPI contract held to it, error
//! bodies per route family, CORS and rate-limit policy, query strings, and what each
//! request's log line and metrics data point hold.

pub mod cors;
pub mod form_origin;
pub mod observe;
pub mod openapi;
pub mod overload;
pub mod problem;
pub mod query;
pub mod rate_limit;
pub mod routes;
