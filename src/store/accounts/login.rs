//! Login: the user with their failure counter and known networks, failures, and
//! the batch that starts a session.

use super::insert_session;
use crate::store::{num, text, Db, Route};
use gatehouse_core::http::problem::Problem;
use serde::Deserialize;

/// What login reads: the user with their primary organization (the oldest
/// membership), their failure counter, and whether the client's network is one
/// they logged in from recently (core::account::login_guard).
#[derive(Deserialize)]
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
    pub known_network: i64,
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
                   AND n.network = ?2 AND n.last_success_ms >= ?3) AS known_network \
         FROM users u WHERE u.email = ?1",
        &[text(email), text(network), num(known_since_ms)],
    );
    db.first::<LoginRecord>(statement).await
}

/// Counts one failed password: a new window starts when the last one is over.
pub async fn record_login_failure(
    db: &Db,
    user_id: &str,
    now_ms: i64,
    window_ms: i64,
) -> Result<(), Problem> {
    let what = "accounts.record_login_failure";
    let db = db.trip(Route::Primary, what);
    let count = db.statement(
        "UPDATE users SET failed_logins = CASE WHEN failed_logins_since_ms > ?2 - ?3 THEN \
         failed_logins + 1 ELSE 1 END, failed_logins_since_ms = CASE WHEN \
         failed_logins_since_ms > ?2 - ?3 THEN failed_logins_since_ms ELSE ?2 END WHERE id = \
         ?1",
        &[text(user_id), num(now_ms), num(window_ms)],
    );
    db.batch(vec![count]).await?;
    Ok(())
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
    /// The upgraded password hash, when the stored one is weaker than configured.
    pub rehash: Option<&'a str>,
}

/// One batch: a new refresh session, the client's network remembered, and the
/// upgraded password hash if any.
pub async fn start_session(db: &Db, login: &NewLogin<'_>) -> Result<(), Problem> {
    let what = "accounts.start_session";
    let db = db.trip(Route::Primary, what);
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
        ),
        db.statement(
            "INSERT INTO login_networks (user_id, network, last_success_ms) VALUES (?1, ?2, ?3) \
             ON CONFLICT (user_id, network) DO UPDATE SET last_success_ms = \
             excluded.last_success_ms",
            &[text(login.user_id), text(login.network), num(login.now_ms)],
        ),
    ];
    if let Some(hash) = login.rehash {
        batch.push(db.statement(
            "UPDATE users SET password_hash = ?1 WHERE id = ?2",
            &[text(hash), text(login.user_id)],
        ));
    }
    db.batch(batch).await?;
    Ok(())
}
