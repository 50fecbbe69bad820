//! The scheduled maintenance's SQL (core::maintenance says what and how much): one
//! round is one D1 batch that deletes, from each table that expires, at most
//! `BATCH_ROWS` rows past their retention, oldest first. Each delete selects its rows
//! by an indexed time column (migration 0012), so a statement is a bounded range scan.
//! Deleting rows past a cutoff is idempotent: two runs, even concurrent ones (D1
//! serialises batches), delete each row once and never a row still needed.

use super::{changes, num, Db, Route};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::maintenance::{Policy, Sweep, BATCH_ROWS};

/// `DELETE` of up to `?2` rows of `table` whose `column` is before `?1`, by `key`
/// (the primary key's columns, comma separated: a row value for the WITHOUT ROWID
/// tables, which have no rowid).
fn expired(table: &str, key: &str, column: &str) -> String {
    format!(
        "DELETE FROM {table} WHERE ({key}) IN (SELECT {key} FROM {table} WHERE {column} < ?1 \
         ORDER BY {column} LIMIT ?2)"
    )
}

/// Nodes not seen since `?1` (at most `?2`, least recently seen first) leave a
/// tombstone at their last signed timestamp, removed at `?3` — the replay state their
/// address needs while a captured registration could still be fresh — then go.
const STALE_NODES: &str = "SELECT org_id, ip FROM nodes WHERE updated_at_ms < ?1 \
     ORDER BY updated_at_ms, org_id, ip LIMIT ?2";

fn sql(sweep: Sweep) -> String {
    match sweep {
        Sweep::SignIns => expired("sign_ins", "id", "expires_at_ms"),
        Sweep::EmailVerifications => expired("email_verifications", "token_hash", "expires_at_ms"),
        Sweep::PasswordResets => expired("password_resets", "token_hash", "expires_at_ms"),
        Sweep::LoginFailures => expired("login_failures", "user_id, network", "window_start_ms"),
        Sweep::LoginNetworks => expired("login_networks", "user_id, network", "last_success_ms"),
        Sweep::NodeTombstones => expired("node_tombstones", "org_id, ip", "removed_at_ms"),
        Sweep::StaleNodes => format!("DELETE FROM nodes WHERE (org_id, ip) IN ({STALE_NODES})"),
        Sweep::SecretsFetches => expired("secrets_fetches", "nonce", "expires_at_ms"),
    }
}

/// One round at `now_ms`: how many rows each sweep deleted, in [`Sweep::ALL`] order.
pub async fn sweep_round(db: &Db, policy: &Policy, now_ms: i64) -> Result<Vec<u64>, Problem> {
    let trip = db.trip(Route::Primary, "maintenance.sweep_round");
    let limit = num(i64::from(BATCH_ROWS));
    let mut statements = Vec::new();
    let mut counted = Vec::new();
    for sweep in Sweep::ALL {
        let cutoff = num(policy.cutoff_ms(sweep, now_ms));
        if sweep == Sweep::StaleNodes {
            // Same selection, same transaction: exactly the rows deleted next.
            statements.push(trip.statement(
                format!(
                    "INSERT INTO node_tombstones (org_id, ip, last_signed_at_ms, removed_at_ms) \
                     SELECT n.org_id, n.ip, n.last_signed_at_ms, ?3 FROM nodes n WHERE \
                     (n.org_id, n.ip) IN ({STALE_NODES}) ON CONFLICT (org_id, ip) DO UPDATE SET \
                     last_signed_at_ms = max(last_signed_at_ms, excluded.last_signed_at_ms), \
                     removed_at_ms = excluded.removed_at_ms"
                ),
                &[cutoff.clone(), limit.clone(), num(now_ms)],
            ));
        }
        counted.push(statements.len());
        statements.push(trip.statement(sql(sweep), &[cutoff, limit.clone()]));
    }
    let results = trip.batch(statements).await?;
    Ok(counted
        .into_iter()
        .map(|i| changes(&results, i) as u64)
        .collect())
}
