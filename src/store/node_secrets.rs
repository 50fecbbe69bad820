//! `node_secrets`: one row per node id, holding only the secret's hash.

use super::{changes, num, rows, storage_failure, text, Db, Route};
use gatehouse_core::http::problem::Problem;
use serde::Deserialize;

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

/// The stored hash of `node_id`'s secret, if it is registered: one D1 round trip.
pub async fn stored_hash(db: &Db, node_id: &str) -> Result<Option<String>, Problem> {
    let what = "node_secrets.stored_hash";
    let db = db.trip(Route::Replica, what);
    let results = db
        .batch(vec![db.statement(
            "SELECT secret_hash FROM node_secrets WHERE node_id = ?1",
            &[text(node_id)],
        )])
        .await?;
    Ok(rows::<StoredHash>(&results, 0, what)?
        .into_iter()
        .next()
        .map(|row| row.secret_hash))
}

/// Inserts the node unless it exists, then reads back the stored hash: one D1 round
/// trip (a batch) whatever the outcome. The primary key decides concurrent first
/// registrations, so there is no read-then-write race.
pub async fn register(
    db: &Db,
    node_id: &str,
    secret_hash: &str,
    now_ms: i64,
) -> Result<Registration, Problem> {
    let what = "node_secrets.register";
    let db = db.trip(Route::Primary, what);
    let insert = db.statement(
        "INSERT INTO node_secrets (node_id, secret_hash, created_at_ms) VALUES (?1, ?2, ?3) \
         ON CONFLICT (node_id) DO NOTHING",
        &[text(node_id), text(secret_hash), num(now_ms)],
    );
    let select = db.statement(
        "SELECT secret_hash FROM node_secrets WHERE node_id = ?1",
        &[text(node_id)],
    );
    let results = db.batch(vec![insert, select]).await?;
    if changes(&results, 0) > 0 {
        return Ok(Registration::Created);
    }
    match rows::<StoredHash>(&results, 1, what)?.into_iter().next() {
        Some(row) => Ok(Registration::Existing {
            secret_hash: row.secret_hash,
        }),
        None => Err(storage_failure(what, "row neither inserted nor found")),
    }
}
