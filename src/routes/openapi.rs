//! `GET /openapi.json`: the contract, held to the route table by core's tests.

use worker::Response;

pub fn handle() -> Response {
    crate::http::with_headers(
        200,
        gatehouse_core::http::openapi::OPENAPI_JSON.to_owned(),
        "application/json",
    )
}
