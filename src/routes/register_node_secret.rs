//! `POST /register_node_secret` — a node registers `{node_id, secret}`.
//!
//! Mirrors an existing FastAPI endpoint: errors are FastAPI's bodies byte for byte
//! (core::fastapi). The secret is stored only as a PBKDF2 hash; the same secret again
//! is idempotent (200), a different one is 409. D1: one read for a known node_id,
//! plus one insert batch for a new one.

use crate::store::Db;
use crate::{config, http, store};
use gatehouse_core::crypto::password;
use gatehouse_core::http::problem::Problem;
use gatehouse_core::node_secret::{conflict_body, registered_body, NodeSecretRequest};
use store::node_secrets::Registration;
use worker::{Env, Request, Response};

pub async fn handle(mut req: Request, env: &Env, db: &Db) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let content_type = req.headers().get("content-type").ok().flatten();
    let body = http::read_body(&mut req).await?;
    let request = match NodeSecretRequest::parse(
        content_type.as_deref(),
        &body,
        &config.node_secret_policy,
    ) {
        Ok(request) => request,
        Err(rejection) => return Ok(fastapi_json(rejection.status(), rejection.body())),
    };
    let secret = request.secret.as_bytes();
    let verify =
        |stored: &str| password::verify(secret, stored).map_err(|e| internal("stored hash", e));
    // Verify first, hash only to insert: one KDF run per request (two only for the
    // loser of a race between two first registrations of one node_id).
    let registered = match store::node_secrets::stored_hash(db, &request.node_id).await? {
        Some(stored) => verify(&stored)?,
        None => {
            let hash = password::hash(secret, config.password_kdf, config.password_kdf_iterations)
                .map_err(|e| internal("hashing the secret", e))?;
            let now_ms = worker::Date::now().as_millis() as i64;
            match store::node_secrets::register(db, &request.node_id, &hash, now_ms).await? {
                Registration::Created => true,
                Registration::Existing { secret_hash } => verify(&secret_hash)?,
            }
        }
    };
    Ok(if registered {
        fastapi_json(200, registered_body(&request.node_id))
    } else {
        fastapi_json(409, conflict_body())
    })
}

fn fastapi_json(status: u16, body: String) -> Response {
    http::with_headers(status, body, "application/json")
}

fn internal(what: &str, error: impl std::fmt::Debug) -> Problem {
    worker::console_error!("register_node_secret: {what}: {error:?}");
    Problem::Internal
}
