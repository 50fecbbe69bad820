//! `POST /register_node_secret` — a node registers `{node_id, secret}`.
//!
//! Mirrors an existing FastAPI endpoint: errors are FastAPI's bodies byte for byte
//! (core::fastapi). The secret is stored only as a PBKDF2 hash; the same secret again
//! is idempotent (200), a different one is 409. After 10 wrong secrets in an hour a
//! node id answers 429 without comparing (core::node_secret::MAX_WRONG_SECRETS): the
//! 409 must not become a guessing oracle. D1: one read for a known node_id, plus one
//! insert batch for a new one, plus one counting write per wrong secret.

use crate::store::Db;
use crate::{config, http, store};
use gatehouse_core::crypto::password;
use gatehouse_core::http::problem::Problem;
use gatehouse_core::node_secret::{conflict_body, locked_body, registered_body, NodeSecretRequest};
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
    let now_ms = crate::clock::now_ms();
    let registered = match store::node_secrets::stored(db, &request.node_id).await? {
        Some(stored) => {
            if let Some(seconds) = stored.wrong_secrets().locked_for_seconds(now_ms) {
                let response = fastapi_json(429, locked_body());
                let _ = response.headers().set("retry-after", &seconds.to_string());
                return Ok(response);
            }
            verify(&stored.secret_hash)?
        }
        None => {
            let hash = password::hash(secret, config.password_kdf, config.password_kdf_iterations)
                .map_err(|e| internal("hashing the secret", e))?;
            match store::node_secrets::register(db, &request.node_id, &hash, now_ms).await? {
                Registration::Created => true,
                Registration::Existing { secret_hash } => verify(&secret_hash)?,
            }
        }
    };
    if !registered {
        store::node_secrets::count_wrong_secret(db, &request.node_id, now_ms).await?;
        return Ok(fastapi_json(409, conflict_body()));
    }
    Ok(fastapi_json(200, registered_body(&request.node_id)))
}

fn fastapi_json(status: u16, body: String) -> Response {
    http::with_headers(status, body, "application/json")
}

fn internal(what: &str, error: impl std::fmt::Debug) -> Problem {
    worker::console_error!("register_node_secret: {what}: {error:?}");
    Problem::Internal
}
