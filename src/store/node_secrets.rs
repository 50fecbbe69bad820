//! `node_secrets`: one row per node id, holding only the secret's hash.

use super::{changes, num, rows, storage_failure, text, Db, Route};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::node_secret::{WrongSecrets, WRONG_SECRETS_WINDOW_MS};

pub enum Registration {
    /// This request inserted the row.
    Created,
    /// The node id was already registered; here is the stored hash to compare with.
    Existing { secret_hash: String },
}

gatehouse_core::d1_row! {
    struct StoredHash {
        secret_hash: String,
    }
}

gatehouse_core::d1_row! {
    /// A registered node id: its secret's hash and the wrong secrets it received lately.
    pub struct StoredSecret {
        pub secret_hash: String,
        failed_attempts: f64,
        failed_since_ms: Option<f64>,
    }
}

impl StoredSecret {
    pub fn wrong_secrets(&self) -> WrongSecrets {
        WrongSecrets {
            count: self.failed_attempts as i64,
            since_ms: self.failed_since_ms.map(|ms| ms as i64),
        }
    }
}

/// `node_id`'s stored secret, if it is registered: one D1 round trip (a replica may
/// lag the failure count by a moment, which lets a few more guesses through, never
/// fewer answers for an honest node).
pub async fn stored(db: &Db, node_id: &str) -> Result<Option<StoredSecret>, Problem> {
    let what = "node_secrets.stored";
    let db = db.trip(Route::Replica, what);
    let results = db
        .batch(vec![db.statement(
            "SELECT secret_hash, failed_attempts, failed_since_ms FROM node_secrets \
             WHERE node_id = ?1",
            &[text(node_id)],
        )])
        .await?;
    Ok(rows::<StoredSecret>(&results, 0, what)?.into_iter().next())
}

/// Counts one wrong secret for `node_id`: a new window when the last one is over.
pub async fn count_wrong_secret(db: &Db, node_id: &str, now_ms: i64) -> Result<(), Problem> {
    let db = db.trip(Route::Primary, "node_secrets.count_wrong_secret");
    let statement = db.statement(
        "UPDATE node_secrets SET \
         failed_attempts = CASE WHEN failed_since_ms > ?2 - ?3 THEN failed_attempts + 1 ELSE 1 END, \
         failed_since_ms = CASE WHEN failed_since_ms > ?2 - ?3 THEN failed_since_ms ELSE ?2 END \
         WHERE node_id = ?1",
        &[text(node_id), num(now_ms), num(WRONG_SECRETS_WINDOW_MS)],
    );
    db.batch(vec![statement]).await?;
    Ok(())
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
