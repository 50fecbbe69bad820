//! `POST /__test/panic` (only with `TEST_HOOKS=on`): panics on purpose, so the e2e
//! suite can prove a panic is logged and answered with a 500 JSON body, and that the
//! next request is served by a fresh instance.

use crate::http::read_body;
use gatehouse_core::http::problem::Problem;
use worker::{Request, Response};

pub async fn handle(mut req: Request) -> Result<Response, Problem> {
    let body = read_body(&mut req).await?;
    panic!("test hook: deliberate panic ({} body bytes)", body.len());
}
