//! Login: the user with their failure counters and known networks, failures, and
//! the batch that starts a session.
//!
//! Every attempt is counted as a failed password before the password is checked, by
//! email, not by user id, in the same one batch whether or not an account has the
//! address (for an unknown one it changes nothing): a wrong password and an unknown
//! address then cost the same round trips, so timing tells neither apart, and
//! concurrent guesses cannot all pass a limit they each read as not reached. A login
//! that succeeds takes its count back.

use super::insert_session;
use crate::store::db::{Statement, Trip};
use crate::store::{changes, num, number_of, rows, storage_failure, text, Db, Route};
use gatehouse_core::account::login_guard::MAX_KNOWN_NETWORKS;
use gatehouse_core::account::login_guard::{Failures, MAX_FAILURES_PER_NETWORK};
use gatehouse_core::account::tokens::MAX_SIGN_INS_PER_USER;
use gatehouse_core::http::problem::Problem;
use serde_json::Value;

gatehouse_core::d1_row! {
    /// What login reads: the user with their primary organization (the oldest
    /// membership), their failure counter, and whether the client's network is one
    /// they logged in from recently (core::account::login_guard).
    pub struct LoginRecord {
        pub id: String,
        pub email: String,
        pub password_hash: String,
        pub first_name: String,
        pub last_name: String,
        pub image_url: Option<String>,
        pub email_verified_at_ms: Option<f64>,
        pub org_id: String,
        /// The user's role in `org_id`.
        pub role: String,
        pub failed_logins: f64,
        pub failed_logins_since_ms: Option<f64>,
        /// Failed passwords of this account from the client's network, and since when.
        pub network_failures: Option<f64>,
        pub network_failures_since_ms: Option<f64>,
        pub known_network: i64,
    }
}

/// One read (see [`LoginRecord`]): `network` is the client's, `known_since_ms` the
/// oldest success that still makes it known.
pub async fn login_record(
    db: &Db,
    email: &str,
    network: &str,
    known_since_ms: i64,
) -> Result<Option<LoginRecord>, Problem> {
    let what = "accounts.login_record";
    let db = db.trip(Route::Replica, what);
    let statement = db.statement(
        "SELECT u.id, u.email, u.password_hash, u.first_name, u.last_name, u.image_url, \
           u.email_verified_at_ms, u.failed_logins, u.failed_logins_since_ms, \
           (SELECT m.org_id FROM org_members m WHERE m.user_id = u.id \
            ORDER BY m.created_at_ms LIMIT 1) AS org_id, \
           (SELECT m.role FROM org_members m WHERE m.user_id = u.id \
            ORDER BY m.created_at_ms LIMIT 1) AS role, \
           EXISTS (SELECT 1 FROM login_networks n WHERE n.user_id = u.id \
                   AND n.network = ?2 AND n.last_success_ms >= ?3) AS known_network, \
           f.failures AS network_failures, f.window_start_ms AS network_failures_since_ms \
         FROM users u LEFT JOIN login_failures f ON f.user_id = u.id AND f.network = ?2 \
         WHERE u.email = ?1",
        &[text(email), text(network), num(known_since_ms)],
    );
    db.first::<LoginRecord>(statement).await
}

/// The failure counters of an account right after [`reserve_login_attempt`] counted
/// this attempt in them.
pub struct Reserved {
    /// Failed passwords of this account from the client's network, this one included.
    pub network: Failures,
    /// Failed passwords of this account from everywhere, this one included.
    pub account: Failures,
    /// Whether the account signed in from this network since `known_since_ms`, read
    /// on the primary with the counters: a replica lagging a password reset (which
    /// forgets the known networks) cannot spare a thief's network the ceiling.
    pub known_network: bool,
}

/// Counts this login attempt as a failed password of the account with `email`, if
/// any, from `network` — before its password is checked, so that concurrent guesses
/// each see the ones before them (D1 runs one batch at a time): its (account, network)
/// counter and its account-wide one, each starting a new window when the last is over,
/// and returns both as they now are (core::account::login_guard::admitted decides). A
/// login that succeeds takes its count back ([`start_session`]). One batch, which first
/// deletes at most two (account, network) counters whose window is over (the table's
/// retention, with the maintenance's sweep); for an address with no account it changes
/// nothing else, at the same cost.
pub async fn reserve_login_attempt(
    db: &Db,
    email: &str,
    network: &str,
    now_ms: i64,
    window_ms: i64,
    known_since_ms: i64,
) -> Result<Option<Reserved>, Problem> {
    let what = "accounts.reserve_login_attempt";
    let db = db.trip(Route::Primary, what);
    let args = [
        text(email),
        text(network),
        num(now_ms),
        num(window_ms),
        num(i64::from(MAX_FAILURES_PER_NETWORK)),
        num(known_since_ms),
    ];
    // At most two counters whose window is over go with every attempt, oldest first
    // (a range scan of login_failures_by_window): an attempt adds at most one row and
    // removes up to two closed ones, the maintenance the rest, and no attempt pays for
    // a backlog strangers piled up (an unbounded DELETE here did).
    let sweep = db.statement(
        "DELETE FROM login_failures WHERE (user_id, network) IN (SELECT user_id, network \
         FROM login_failures WHERE window_start_ms <= ?1 - ?2 ORDER BY window_start_ms \
         LIMIT 2)",
        &[num(now_ms), num(window_ms)],
    );
    // The caller's own counter starts a new window when its last is over, whether or
    // not the sweep above reached it.
    let per_network = db.statement(
        "INSERT INTO login_failures (user_id, network, failures, window_start_ms) \
         SELECT id, ?2, 1, ?3 FROM users WHERE email = ?1 \
         ON CONFLICT (user_id, network) DO UPDATE SET \
         failures = CASE WHEN window_start_ms <= ?3 - ?4 THEN 1 ELSE failures + 1 END, \
         window_start_ms = CASE WHEN window_start_ms <= ?3 - ?4 THEN ?3 ELSE window_start_ms END \
         RETURNING failures AS count, window_start_ms AS since",
        &args[..4],
    );
    // The account-wide count takes the attempt only while its network is within its
    // own budget (its row, just counted, at most ?5): a network already refused for the
    // account adds nothing to the ceiling, however often it asks.
    let per_account = db.statement(
        "UPDATE users SET failed_logins = CASE WHEN failed_logins_since_ms > ?3 - ?4 THEN \
         failed_logins ELSE 0 END + coalesce((SELECT failures FROM login_failures f \
         WHERE f.user_id = users.id AND f.network = ?2) <= ?5, 1), failed_logins_since_ms = \
         CASE WHEN failed_logins_since_ms > ?3 - ?4 THEN failed_logins_since_ms ELSE ?3 END \
         WHERE email = ?1 RETURNING failed_logins AS count, failed_logins_since_ms AS since, \
         EXISTS (SELECT 1 FROM login_networks n WHERE n.user_id = users.id AND n.network = ?2 \
                 AND n.last_success_ms >= ?6) AS known",
        &args,
    );
    let results = db.batch(vec![sweep, per_network, per_account]).await?;
    // Each counting statement's one row (`count`, `since`), if the address has an
    // account; a row without its count is a storage fault, never an open gate.
    let counter = |i: usize| -> Result<Option<Failures>, Problem> {
        let Some(row) = rows::<Value>(&results, i, what)?.into_iter().next() else {
            return Ok(None);
        };
        let count = number_of(&row, "count").ok_or_else(|| storage_failure(what, "no count"))?;
        Ok(Some(Failures {
            count: count as u32,
            window_start_ms: number_of(&row, "since"),
        }))
    };
    let known_network = rows::<Value>(&results, 2, what)?
        .first()
        .and_then(|row| number_of(row, "known"))
        == Some(1);
    Ok(counter(1)?
        .zip(counter(2)?)
        .map(|(network, account)| Reserved {
            network,
            account,
            known_network,
        }))
}

/// A password the account's `checked_hash` matched, after reserve_login_attempt had
/// counted it as a failure from `network`: the network's counter cleared and the
/// account's given back this attempt, each only while the hash is still that one (a
/// reset in between wins). Shared by a login's sign-in and a verification.
pub(super) fn take_back_attempt(
    trip: &Trip<'_>,
    user_id: &str,
    checked_hash: &str,
    network: &str,
) -> [Statement; 2] {
    let args = [text(user_id), text(checked_hash), text(network)];
    [
        trip.statement(
            concat!(
                "DELETE FROM login_failures WHERE user_id = ?1 AND network = ?3 AND ",
                password_unchanged!("?1", "?2")
            ),
            &args,
        ),
        trip.statement(
            "UPDATE users SET failed_logins = failed_logins - 1 WHERE id = ?1 \
             AND failed_logins > 0 AND password_hash = ?2",
            &args[..2],
        ),
    ]
}

pub struct NewLogin<'a> {
    pub user_id: &'a str,
    pub session_id: &'a str,
    pub refresh_hash: &'a str,
    pub now_ms: i64,
    pub expires_ms: i64,
    /// The client's network, remembered as known for this user.
    pub network: &'a str,
    /// Login's `deviceInfo`, as JSON.
    pub device_info: Option<&'a str>,
    /// The stored password hash the password matched (read from a replica).
    pub checked_hash: &'a str,
    /// The upgraded password hash, when the stored one is weaker than configured.
    pub rehash: Option<&'a str>,
}

/// One batch: a new sign-in, the client's network remembered (and its failure counter
/// for this account cleared, the account-wide one given back this attempt's count),
/// the account's sign-ins past [`MAX_SIGN_INS_PER_USER`]
/// deleted (ended ones first, then the least recently used), its known networks past
/// [`MAX_KNOWN_NETWORKS`] forgotten (the least recently used), and the upgraded password
/// hash if any — each only while
/// the user's password hash is still the one the password was checked against (login
/// reads it from a replica, which may not have a reset yet; a reset then refuses the
/// old password at once, SECURITY.md "Stale caches"). False: nothing was written,
/// because the password changed since.
pub async fn start_session(db: &Db, login: &NewLogin<'_>) -> Result<bool, Problem> {
    let what = "accounts.start_session";
    let db = db.trip(Route::Primary, what);
    let checked = [
        text(login.user_id),
        text(login.network),
        num(login.now_ms),
        text(login.checked_hash),
        num(MAX_SIGN_INS_PER_USER),
        text(login.session_id),
    ];
    let mut batch = vec![
        insert_session(
            &db,
            login.session_id,
            login.session_id,
            login.user_id,
            login.refresh_hash,
            login.now_ms,
            login.expires_ms,
            login.device_info,
            Some(login.checked_hash),
        ),
        db.statement(
            concat!(
                "INSERT INTO login_networks (user_id, network, last_success_ms) \
                 SELECT ?1, ?2, ?3 WHERE ",
                password_unchanged!("?1", "?4"),
                " ON CONFLICT (user_id, network) DO UPDATE SET last_success_ms = \
                 excluded.last_success_ms"
            ),
            &checked[..4],
        ),
    ];
    batch.extend(take_back_attempt(
        &db,
        login.user_id,
        login.checked_hash,
        login.network,
    ));
    batch.extend([
        // Past the cap, ended and expired sign-ins go before live ones, each the least
        // recently used first; never the one this batch makes (?6).
        db.statement(
            concat!(
                "DELETE FROM sign_ins WHERE user_id = ?1 AND id <> ?6 AND id IN (SELECT id \
                 FROM sign_ins WHERE user_id = ?1 ORDER BY id = ?6 DESC, \
                 (ended_at_ms IS NULL AND expires_at_ms > ?3) DESC, last_used_ms DESC, id \
                 LIMIT -1 OFFSET ?5) AND ",
                password_unchanged!("?1", "?4")
            ),
            &checked,
        ),
    ]);
    // Past the cap the least recently used known networks go; never this one (?2).
    batch.push(db.statement(
        concat!(
            "DELETE FROM login_networks WHERE user_id = ?1 AND network <> ?2 AND network IN \
             (SELECT network FROM login_networks WHERE user_id = ?1 \
             ORDER BY network = ?2 DESC, last_success_ms DESC, network LIMIT -1 OFFSET ?5) AND ",
            password_unchanged!("?1", "?4")
        ),
        &[
            checked[0].clone(),
            checked[1].clone(),
            checked[2].clone(),
            checked[3].clone(),
            num(MAX_KNOWN_NETWORKS),
        ],
    ));
    if let Some(hash) = login.rehash {
        batch.push(db.statement(
            "UPDATE users SET password_hash = ?1 WHERE id = ?2 AND password_hash = ?3",
            &[text(hash), text(login.user_id), text(login.checked_hash)],
        ));
    }
    let results = db.batch(batch).await?;
    Ok(changes(&results, 0) > 0)
}

/// The user's password hash as the primary has it now: what login checks again when
/// its conditional write found the hash changed since its replica read (a reset, or
/// another login's rehash).
pub async fn current_password_hash(db: &Db, user_id: &str) -> Result<Option<String>, Problem> {
    let trip = db.trip(Route::Primary, "accounts.current_password_hash");
    let statement = trip.statement(
        "SELECT password_hash FROM users WHERE id = ?1",
        &[text(user_id)],
    );
    Ok(trip
        .first::<PasswordHash>(statement)
        .await?
        .map(|row| row.password_hash))
}

gatehouse_core::d1_row! {
    struct PasswordHash {
        password_hash: String,
    }
}
