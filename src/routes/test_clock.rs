//! `POST /__test/clock {"offsetMs": N}` (only with `TEST_HOOKS=on`; the route does not
//! exist otherwise, so production's clock cannot be moved): moves the worker's clock N
//! ms ahead of real time, for the growth test's simulated year (tests/tests/growth.rs).
//! Answers `{offsetMs, nowMs}`.

use crate::http::{self, read_body};
use gatehouse_core::http::problem::Problem;
use serde::Deserialize;
use serde_json::json;
use worker::{Request, Response};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Move {
    offset_ms: i64,
}

pub async fn handle(mut req: Request) -> Result<Response, Problem> {
    let body = read_body(&mut req).await?;
    // At most ~100 years either way: a typo must not wrap the clock.
    const LIMIT_MS: i64 = 100 * 366 * 24 * 3600 * 1000;
    match serde_json::from_slice::<Move>(&body) {
        Ok(m) if m.offset_ms.abs() <= LIMIT_MS => {
            crate::clock::set_test_offset_ms(m.offset_ms);
            Ok(http::json(
                200,
                &json!({"offsetMs": m.offset_ms, "nowMs": crate::clock::now_ms()}),
            ))
        }
        _ => Ok(http::json(
            400,
            &json!({"success": false, "error_code": "VALIDATION_ERROR",
                    "message": "expected {\"offsetMs\": whole number of ms, |n| <= 100 years}"}),
        )),
    }
}
