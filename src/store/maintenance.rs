//! The scheduled maintenance's SQL (core::maintenance says what and how much): one
//! round is one D1 batch that deletes, from each table that expires, at most
//! `BATCH_ROWS` rows past their retention, oldest first. Each delete selects its rows
//! by an indexed time column (migrations 0009–0014, 0018, 0020, 0022 made the
//! indexes), so a statement is a bounded range scan.
//! Deleting rows past a cutoff is idempotent: two runs, even concurrent ones (D1
//! serialises batches), delete each row once and never a row still needed.

use super::{changes, num, rows, storage_failure, Db, Route, DEFER_FOREIGN_KEYS};
use gatehouse_core::account::rows::{ORGANIZATION_HOLDINGS, PERSONAL_TABLES};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::maintenance::{
    Policy, Sweep, BATCH_ROWS, STATEMENTS_PER_ROUND, UNVERIFIED_LINK_HOLD_MS,
};
use gatehouse_sql::{audited_actor, erased, least_recently_seen};
use std::sync::LazyLock;

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
static STALE_NODES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT org_id, ip FROM ({})",
        least_recently_seen("org_id, ip, updated_at_ms", "?1", "?2")
    )
});

/// The accounts the unverified sweep removes (`?1` its cutoff, `?2` its batch, `?3`
/// the link hold's start): never verified, signed up before the cutoff, sent no
/// verification or reset link since the hold's start (someone is acting on it), that
/// no audit row names as an actor, and none of whose organizations is held by
/// something else while no verified person belongs to it (a row in any of
/// [`ORGANIZATION_HOLDINGS`]: an operator may have set its environments with the CLI,
/// and keys may predate the verification rule). Oldest first. Every statement of the
/// sweep selects the same rows: none of them changes what this reads before the users
/// themselves go, last.
fn doomed_users() -> String {
    let held = ORGANIZATION_HOLDINGS
        .iter()
        .map(|table| format!("EXISTS (SELECT 1 FROM {table} h WHERE h.org_id = m.org_id)"))
        .collect::<Vec<_>>()
        .join(" OR ");
    format!(
        "doomed(id) AS (SELECT u.id FROM users u \
         WHERE u.email_verified_at_ms IS NULL AND u.created_at_ms < ?1 \
         AND NOT EXISTS (SELECT 1 FROM email_verifications v WHERE v.user_id = u.id \
           AND v.created_at_ms >= ?3) \
         AND NOT EXISTS (SELECT 1 FROM password_resets r WHERE r.user_id = u.id \
           AND r.created_at_ms >= ?3) \
         AND NOT EXISTS (SELECT 1 FROM key_audit a WHERE a.actor_user_id = u.id) \
         AND NOT EXISTS (SELECT 1 FROM org_members m WHERE m.user_id = u.id \
           AND NOT EXISTS (SELECT 1 FROM org_members o JOIN users ou ON ou.id = o.user_id \
             WHERE o.org_id = m.org_id AND ou.email_verified_at_ms IS NOT NULL) \
           AND ({held})) \
         ORDER BY u.created_at_ms, u.id LIMIT ?2)"
    )
}

/// The organizations that go with them: every member is one of them (so none is
/// verified, and by [`doomed_users`] nothing else holds it). Read while the
/// memberships still exist, so these statements come before the memberships' delete.
const DOOMED_ORGS: &str = "doomed_orgs(id) AS (SELECT m.org_id FROM org_members m \
     WHERE m.user_id IN (SELECT id FROM doomed) AND NOT EXISTS (SELECT 1 FROM org_members o \
       WHERE o.org_id = m.org_id AND o.user_id NOT IN (SELECT id FROM doomed)))";

/// The unverified sweep's deletes, in order; the last (the users) is the one counted.
/// An organization goes before its memberships (they find it; the foreign keys are
/// checked at the batch's end), a person's rows before the person.
fn unverified_accounts() -> Vec<String> {
    let doomed = doomed_users();
    let mut sql = vec![
        format!(
            "WITH {doomed}, {DOOMED_ORGS} DELETE FROM subscriptions \
             WHERE org_id IN (SELECT id FROM doomed_orgs)"
        ),
        format!(
            "WITH {doomed}, {DOOMED_ORGS} DELETE FROM organizations \
             WHERE id IN (SELECT id FROM doomed_orgs)"
        ),
    ];
    let tables: Vec<&str> = PERSONAL_TABLES
        .iter()
        .copied()
        .chain(["org_members"])
        .collect();
    sql.extend(people_gone(&doomed, "doomed", &tables));
    sql
}

/// The deletes that remove the accounts a CTE selects (`with`, naming `set(id)`): their
/// rows in each of `tables`, then the accounts, last (the one a sweep counts). Each
/// statement selects the same accounts: none of these rows changes the selection.
fn people_gone(with: &str, set: &str, tables: &[&str]) -> Vec<String> {
    let of_them = format!("(SELECT id FROM {set})");
    tables
        .iter()
        .map(|table| format!("WITH {with} DELETE FROM {table} WHERE user_id IN {of_them}"))
        .chain([format!(
            "WITH {with} DELETE FROM users WHERE id IN {of_them}"
        )])
        .collect()
}

/// Node ids not registered since `?1` (at most `?2`, least recently first): a range of
/// migration 0020's index. A row the code before that migration inserted has no
/// `seen_at_ms` (0), so its `created_at_ms` must be past the cutoff too.
macro_rules! node_secrets_due {
    () => {
        "SELECT node_id FROM node_secrets WHERE seen_at_ms < ?1 AND created_at_ms < ?1 \
         ORDER BY seen_at_ms LIMIT ?2"
    };
}

/// How many node ids go, counted before they go: D1 counts migration 0028's trigger
/// write (the count of node ids) in the delete's changes. The same selection in the
/// same transaction, so exactly the rows deleted next.
const NODE_SECRETS_COUNT: &str = concat!("SELECT count(*) AS n FROM (", node_secrets_due!(), ")");
const NODE_SECRETS: &str = concat!(
    "DELETE FROM node_secrets WHERE node_id IN (",
    node_secrets_due!(),
    ")"
);

gatehouse_core::d1_row! {
    struct Count {
        n: f64,
    }
}

/// Keys revoked before `?1` that no node names (at most `?2`, the earliest revoked
/// first): a range of migration 0018's index, each checked against `nodes_by_key`.
const REVOKED_KEYS: &str = "DELETE FROM org_keys WHERE id IN (SELECT k.id FROM org_keys k \
     WHERE k.revoked_at_ms < ?1 AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.key_id = k.id) \
     ORDER BY k.revoked_at_ms LIMIT ?2)";

/// Erased accounts no audit entry names as actor any more and no organization has as
/// a member (at most `?2`; no cutoff: the entries' own retention is it): their own
/// rows, then them. The erasure took those rows, but a sign-in or a link that a
/// request wrote while the operator's erasure ran (its statements are not one
/// transaction) would otherwise hold the account's foreign keys and fail the round's
/// whole batch. Each statement selects the same accounts (their own rows do not
/// change the selection); the last, the accounts, is counted.
fn erased_accounts() -> Vec<String> {
    let gone = format!(
        "gone(id) AS (SELECT u.id FROM users u WHERE {} AND NOT {} \
         AND NOT EXISTS (SELECT 1 FROM org_members m WHERE m.user_id = u.id) LIMIT ?2)",
        erased("u"),
        audited_actor("u.id")
    );
    people_gone(&gone, "gone", &PERSONAL_TABLES)
}

/// A sweep's statements, each bound to its cutoff (`?1`) and batch (`?2`) (and the
/// unverified sweep's to its link hold, `?3`); the last one's changes are what the
/// sweep removed.
fn sql(sweep: Sweep) -> Vec<String> {
    let one = |sql: String| vec![sql];
    match sweep {
        Sweep::SignIns => one(expired("sign_ins", "id", "expires_at_ms")),
        Sweep::EmailVerifications => one(expired(
            "email_verifications",
            "token_hash",
            "expires_at_ms",
        )),
        Sweep::PasswordResets => one(expired("password_resets", "token_hash", "expires_at_ms")),
        Sweep::LoginFailures => one(expired(
            "login_failures",
            "user_id, network",
            "window_start_ms",
        )),
        Sweep::LoginNetworks => one(expired(
            "login_networks",
            "user_id, network",
            "last_success_ms",
        )),
        Sweep::NodeTombstones => one(expired("node_tombstones", "org_id, ip", "removed_at_ms")),
        Sweep::StaleNodes => one(format!(
            "DELETE FROM nodes WHERE (org_id, ip) IN ({})",
            *STALE_NODES
        )),
        Sweep::SecretsFetches => one(expired("secrets_fetches", "nonce", "expires_at_ms")),
        Sweep::NodeSecrets => vec![NODE_SECRETS_COUNT.to_owned(), NODE_SECRETS.to_owned()],
        Sweep::UnverifiedAccounts => unverified_accounts(),
        Sweep::KeyAudit => one(expired("key_audit", "id", "at_ms")),
        Sweep::RevokedKeys => one(REVOKED_KEYS.to_owned()),
        Sweep::ErasedAccounts => erased_accounts(),
    }
}

/// One round of `sweeps` at `now_ms`: how many rows each deleted, in their order.
pub async fn sweep_round(
    db: &Db,
    policy: &Policy,
    now_ms: i64,
    sweeps: &[Sweep],
) -> Result<Vec<u64>, Problem> {
    let trip = db.trip(Route::Primary, "maintenance.sweep_round");
    let limit = num(i64::from(BATCH_ROWS));
    let mut statements = Vec::new();
    let mut counted = Vec::new();
    for &sweep in sweeps {
        let cutoff = num(policy.cutoff_ms(sweep, now_ms));
        // Where the sweep's count is read: its last statement's changes, but for stale
        // nodes the tombstones' (the same rows), since D1 counts the node count's
        // trigger write (migration 0019) in the delete's changes, and for node ids the
        // row of their count (NODE_SECRETS_COUNT, for 0028's trigger).
        let mut counted_at = None;
        if sweep == Sweep::StaleNodes {
            // Same selection, same transaction: exactly the rows deleted next.
            statements.push(trip.statement(
                format!(
                    "INSERT INTO node_tombstones (org_id, ip, last_signed_at_ms, removed_at_ms) \
                     SELECT n.org_id, n.ip, n.last_signed_at_ms, ?3 FROM nodes n WHERE \
                     (n.org_id, n.ip) IN ({}) ON CONFLICT (org_id, ip) DO UPDATE SET \
                     last_signed_at_ms = max(last_signed_at_ms, excluded.last_signed_at_ms), \
                     removed_at_ms = excluded.removed_at_ms",
                    *STALE_NODES
                ),
                &[cutoff.clone(), limit.clone(), num(now_ms)],
            ));
            counted_at = Some(statements.len() - 1);
        }
        let mut args = vec![cutoff, limit.clone()];
        if sweep == Sweep::UnverifiedAccounts {
            statements.push(trip.statement(DEFER_FOREIGN_KEYS, &[]));
            args.push(num(now_ms - UNVERIFIED_LINK_HOLD_MS));
        }
        let first = statements.len();
        for sql in sql(sweep) {
            statements.push(trip.statement(sql, &args));
        }
        counted.push(match counted_at {
            Some(at) => Counted::Changes(at),
            None if sweep == Sweep::NodeSecrets => Counted::Row(first),
            None => Counted::Changes(statements.len() - 1),
        });
    }
    if statements.len() > STATEMENTS_PER_ROUND as usize {
        // MAX_ROUNDS is sized by it, to stay within D1's 1,000 queries an invocation:
        // a sweep that grew must say so there first.
        return Err(storage_failure(
            "maintenance.sweep_round",
            "a round past STATEMENTS_PER_ROUND",
        ));
    }
    let results = trip.batch(statements).await?;
    counted
        .into_iter()
        .map(|at| match at {
            Counted::Changes(i) => Ok(changes(&results, i) as u64),
            Counted::Row(i) => Ok(rows::<Count>(&results, i, "maintenance.sweep_round")?
                .first()
                .map_or(0, |c| c.n as u64)),
        })
        .collect()
}

/// Where a sweep's count of removed rows is read in the round's results.
enum Counted {
    /// A statement's changes.
    Changes(usize),
    /// A statement's one row, `n`.
    Row(usize),
}
