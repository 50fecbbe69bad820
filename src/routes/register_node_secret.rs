//! `POST /register_node_secret` — a node registers `{node_id, secret}`.
//!
//! Mirrors an existing FastAPI endpoint: errors are FastAPI's bodies byte for byte
//! (core::fastapi). The secret is stored only as a PBKDF2 hash; the same secret again
//! is idempotent (200), a different one is 409. After 10 wrong secrets in an hour a
//! node id answers 429 without comparing (core::node_secret::MAX_WRONG_SECRETS): the
//! 409 must not become a guessing oracle, so each comparison is counted on the primary
//! before it is made (concurrent guesses cannot all pass a check made before any of
//! them was counted). D1: one read, which a replica may answer; for a new node_id one
//! insert; for a known one the counting write, and for the right secret (or one refused
//! as locked) the write that gives the count back. A node id not registered again for
//! `NODE_REMOVE_AFTER_DAYS` is removed by the maintenance, as a silent node is (each
//! request that compares a secret with it marks it seen, a wrong one too, so that
//! someone else's guesses cannot make it lapse): anyone may add node ids, so they
//! cannot be kept for good, nor more than `NODE_SECRETS_MAX` at once (migration
//! 0028), nor more than `NODE_SECRETS_PER_NETWORK` registered from one network (an
//! IPv4 /24, an IPv6 /48; 0029): past them a new node id is refused (503, or 429 for
//! its network) with `Retry-After`, before its secret is hashed, and registered ones
//! are answered as before.

use crate::store::{Db, Route};
use crate::{config, http, store};
use gatehouse_core::crypto::password;
use gatehouse_core::http::problem::Problem;
use gatehouse_core::node_secret::{
    conflict_body, full_body, locked_body, network_full_body, registered_body, registering_network,
    NodeSecretRequest, Room, FULL_RETRY_AFTER_SECONDS,
};
use store::node_secrets::{Bounds, Held, Registration};
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
    let now_ms = crate::clock::now_ms();
    let node_id = &request.node_id;
    let network = registering_network(&crate::rate_limit::client_ip(&req));
    let bounds = Bounds {
        max: config.node_secrets_max,
        per_network: config.node_secrets_per_network,
        network: network.as_deref(),
    };
    let room = |held: Held| Room::of(held.all, held.in_network, bounds.max, bounds.per_network);
    let registered = |route| store::node_secrets::registered(db, node_id, bounds.network, route);
    let mut lookup = registered(Route::Replica).await?;
    if lookup.wrong.is_none() && room(lookup.held) != Room::Open {
        // A replica behind the primary may miss this node id, or room the sweep freed:
        // no one is refused on its word (one primary read, no KDF). A new session, at
        // the primary: the open one may read the same replica again.
        db.restart_at_primary();
        lookup = registered(Route::Primary).await?;
    }
    // A known node id compares the secret as a guess; a new one is hashed and inserted
    // (the loser of a race between two first registrations compares after all). A node
    // id the maintenance removed between the read and the guess is a new one again.
    let known = match lookup.wrong {
        Some(wrong) => match wrong.locked_for_seconds(now_ms) {
            Some(seconds) => Some(Answer::Locked(seconds)),
            None => compare(db, node_id, &request.secret, now_ms).await?,
        },
        None => None,
    };
    let answer = match known {
        Some(answer) => answer,
        None if room(lookup.held) != Room::Open => Answer::NoRoom(room(lookup.held)),
        None => {
            let hash = password::hash(
                request.secret.as_bytes(),
                config.password_kdf,
                config.password_kdf_iterations,
            )
            .map_err(|e| internal("hashing the secret", e))?;
            match store::node_secrets::register(db, node_id, &hash, now_ms, &bounds).await? {
                Registration::Created => Answer::Registered,
                Registration::NoRoom(held) => Answer::NoRoom(room(held)),
                // Inserted a moment ago by another request, so not swept since.
                Registration::Existing => compare(db, node_id, &request.secret, now_ms)
                    .await?
                    .ok_or_else(|| internal("reserving a guess", "the node id is gone"))?,
            }
        }
    };
    Ok(match answer {
        Answer::Registered => fastapi_json(200, registered_body(node_id)),
        Answer::Wrong => fastapi_json(409, conflict_body()),
        Answer::Locked(seconds) => retry_after(fastapi_json(429, locked_body()), seconds),
        Answer::NoRoom(Room::NetworkFull) => retry_after(
            fastapi_json(429, network_full_body()),
            FULL_RETRY_AFTER_SECONDS,
        ),
        // Open cannot reach here: the insert found no room. Answered as full.
        Answer::NoRoom(_) => retry_after(fastapi_json(503, full_body()), FULL_RETRY_AFTER_SECONDS),
    })
}

enum Answer {
    Registered,
    Wrong,
    Locked(u32),
    /// A new node id, and no room for it (not [`Room::Open`]).
    NoRoom(Room),
}

fn retry_after(response: Response, seconds: u32) -> Response {
    let _ = response.headers().set("retry-after", &seconds.to_string());
    response
}

/// Compares `secret` with a known node id's, counted as a wrong secret on the primary
/// first (store::node_secrets::reserve_guess) and given back unless it was wrong: one
/// KDF run, and none once the node id is locked. `None`: the node id is no longer
/// registered (the maintenance removed it since it was read).
async fn compare(
    db: &Db,
    node_id: &str,
    secret: &str,
    now_ms: i64,
) -> Result<Option<Answer>, Problem> {
    let Some(reserved) = store::node_secrets::reserve_guess(db, node_id, now_ms).await? else {
        return Ok(None);
    };
    let answer = match reserved.before.locked_for_seconds(now_ms) {
        Some(seconds) => Answer::Locked(seconds),
        None => {
            let right = password::verify(secret.as_bytes(), &reserved.secret_hash)
                .map_err(|e| internal("stored hash", e))?;
            if !right {
                return Ok(Some(Answer::Wrong));
            }
            Answer::Registered
        }
    };
    // Only a wrong secret keeps its count: one refused unread compared nothing, so the
    // count stays the comparisons that failed (an honest burst leaves none behind).
    store::node_secrets::take_back_guess(db, node_id).await?;
    Ok(Some(answer))
}

fn fastapi_json(status: u16, body: String) -> Response {
    http::with_headers(status, body, "application/json")
}

fn internal(what: &str, error: impl std::fmt::Debug) -> Problem {
    worker::console_error!("register_node_secret: {what}: {error:?}");
    Problem::Internal
}
