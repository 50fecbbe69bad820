//! `node_secrets`: one row per node id, holding only the secret's hash.

use super::{d1, storage_failure};
use gatehouse_core::problem::Problem;
use serde::Deserialize;
use worker::Env;

pub enum Registration {
    /// This request inserted the row.
    Created,
    /// The node id was already registered; here is the stored hash to compare with.
    Existing { secret_hash: String },
}

#[derive(Deserialize)]
struct StoredHash {
    secret_hash: String,
}

/// Inserts the node unless it exists, then reads back the stored hash: one D1 round
/// trip (a batch) whatever the outcome. The primary key decides concurrent first
/// registrations, so there is no read-then-write race.
pub async fn register(
    env: &Env,
    node_id: &str,
    secret_hash: &str,
    now_ms: f64,
) -> Result<Registration, Problem> {
    let db = d1(env)?;
    let fail = |e| storage_failure("node_secrets.register", e);
    let insert = db
        .prepare(
            "INSERT INTO node_secrets (node_id, secret_hash, created_at_ms) VALUES (?1, ?2, ?3) \
             ON CONFLICT (node_id) DO NOTHING",
        )
        .bind(&[node_id.into(), secret_hash.into(), now_ms.into()])
        .map_err(fail)?;
    let select = db
        .prepare("SELECT secret_hash FROM node_secrets WHERE node_id = ?1")
        .bind(&[node_id.into()])
        .map_err(fail)?;
    let results = db.batch(vec![insert, select]).await.map_err(fail)?;
    let inserted = results
        .first()
        .and_then(|r| r.meta().ok().flatten())
        .and_then(|m| m.changes)
        .unwrap_or(0)
        > 0;
    if inserted {
        return Ok(Registration::Created);
    }
    let stored: Vec<StoredHash> = results
        .get(1)
        .map(|r| r.results())
        .transpose()
        .map_err(fail)?
        .unwrap_or_default();
    match stored.into_iter().next() {
        Some(row) => Ok(Registration::Existing {
            secret_hash: row.secret_hash,
        }),
        None => Err(storage_failure(
            "node_secrets.register",
            "row neither inserted nor found",
        )),
    }
}
