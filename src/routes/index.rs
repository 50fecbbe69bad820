//! `GET /`: what this is and where to go next, for whoever opens the bare URL (a
//! browser, `curl`, a monitoring probe) instead of a 404.

use crate::http;
use serde_json::json;
use worker::Response;

pub fn handle() -> Response {
    http::json(
        200,
        &json!({
            "name": "gatehouse",
            "description": "Registration service of a storage/compute network: bridge nodes, node secrets, accounts",
            "version": super::health::version(),
            "links": {"health": "/health", "openapi": "/openapi.json"},
        }),
    )
}
