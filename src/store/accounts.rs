//! Users, organizations, memberships, trials, verification links, refresh sessions.

use super::{changes, d1, num, opt_text, rows, stmt, storage_failure, text};
use gatehouse_core::problem::Problem;
use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement, Env};

// ---- sign-up -------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct ExistingUser {
    pub email_verified_at_ms: Option<f64>,
}

#[derive(Deserialize)]
pub struct DomainOrg {
    pub id: String,
    pub banned: i64,
}

/// One read batch: the user with this email, the organization of this domain.
pub async fn signup_context(
    env: &Env,
    email: &str,
    domain: Option<&str>,
) -> Result<(Option<ExistingUser>, Option<DomainOrg>), Problem> {
    let db = d1(env)?;
    let what = "accounts.signup_context";
    let user = stmt(
        &db,
        "SELECT email_verified_at_ms FROM users WHERE email = ?1",
        &[text(email)],
        what,
    )?;
    let org = stmt(
        &db,
        "SELECT id, banned FROM organizations WHERE domain = ?1",
        &[opt_text(domain)],
        what,
    )?;
    let results = db
        .batch(vec![user, org])
        .await
        .map_err(|e| storage_failure(what, e))?;
    let user = rows::<ExistingUser>(&results, 0, what)?.into_iter().next();
    let org = rows::<DomainOrg>(&results, 1, what)?.into_iter().next();
    Ok((user, org))
}

pub struct NewAccount<'a> {
    pub user_id: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub org_id: &'a str,
    /// `Some` when the organization is created by this sign-up (with a trial).
    pub new_org: Option<NewOrg<'a>>,
    pub role: &'a str,
    pub verification_hash: &'a str,
    pub session_id: &'a str,
    pub refresh_hash: &'a str,
    pub now_ms: i64,
    pub verification_expires_ms: i64,
    pub refresh_expires_ms: i64,
}

pub struct NewOrg<'a> {
    pub name: &'a str,
    pub domain: Option<&'a str>,
    pub subscription_id: &'a str,
    pub trial_ends_ms: i64,
}

pub enum CreateOutcome {
    Created,
    /// The unique email index refused the user: someone else signed up first.
    EmailTaken,
    /// Another sign-up created the organization for this domain first.
    DomainTaken,
}

/// One atomic batch: organization (+ trial) if new, user, membership, verification
/// link, refresh session. Any failure leaves nothing behind.
pub async fn create_account(env: &Env, a: &NewAccount<'_>) -> Result<CreateOutcome, Problem> {
    let db = d1(env)?;
    let what = "accounts.create_account";
    let mut batch = Vec::new();
    if let Some(org) = &a.new_org {
        batch.push(stmt(
            &db,
            "INSERT INTO organizations (id, name, domain, created_at_ms) VALUES (?1, ?2, ?3, ?4)",
            &[
                text(a.org_id),
                text(org.name),
                opt_text(org.domain),
                num(a.now_ms),
            ],
            what,
        )?);
        batch.push(stmt(
            &db,
            "INSERT INTO subscriptions (id, org_id, plan, starts_at_ms, ends_at_ms) VALUES (?1, ?2, 'FREE_TRIAL', ?3, ?4)",
            &[text(org.subscription_id), text(a.org_id), num(a.now_ms), num(org.trial_ends_ms)],
            what,
        )?);
    }
    batch.push(stmt(
        &db,
        "INSERT INTO users (id, email, password_hash, first_name, last_name, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &[text(a.user_id), text(a.email), text(a.password_hash), text(a.first_name), text(a.last_name), num(a.now_ms)],
        what,
    )?);
    batch.push(stmt(
        &db,
        "INSERT INTO org_members (org_id, user_id, role, created_at_ms) VALUES (?1, ?2, ?3, ?4)",
        &[text(a.org_id), text(a.user_id), text(a.role), num(a.now_ms)],
        what,
    )?);
    batch.push(stmt(
        &db,
        "INSERT INTO email_verifications (token_hash, user_id, created_at_ms, expires_at_ms) VALUES (?1, ?2, ?3, ?4)",
        &[text(a.verification_hash), text(a.user_id), num(a.now_ms), num(a.verification_expires_ms)],
        what,
    )?);
    batch.push(insert_session(
        &db,
        a.session_id,
        a.session_id,
        a.user_id,
        a.refresh_hash,
        a.now_ms,
        a.refresh_expires_ms,
    )?);
    match db.batch(batch).await {
        Ok(_) => Ok(CreateOutcome::Created),
        Err(e) => {
            let message = e.to_string();
            if message.contains("users.email") {
                Ok(CreateOutcome::EmailTaken)
            } else if message.contains("organizations.domain") {
                Ok(CreateOutcome::DomainTaken)
            } else {
                Err(storage_failure(what, message))
            }
        }
    }
}

fn insert_session(
    db: &D1Database,
    id: &str,
    family_id: &str,
    user_id: &str,
    token_hash: &str,
    now_ms: i64,
    expires_ms: i64,
) -> Result<D1PreparedStatement, Problem> {
    stmt(
        db,
        "INSERT INTO refresh_sessions (id, family_id, user_id, token_hash, created_at_ms, expires_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &[text(id), text(family_id), text(user_id), text(token_hash), num(now_ms), num(expires_ms)],
        "accounts.insert_session",
    )
}

// ---- login ---------------------------------------------------------------------------

/// A user with their primary organization (the oldest membership).
#[derive(Deserialize)]
pub struct UserRecord {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    pub image_url: Option<String>,
    pub email_verified_at_ms: Option<f64>,
    pub org_id: String,
}

const USER_RECORD: &str =
    "SELECT u.id, u.email, u.password_hash, u.first_name, u.last_name, u.image_url, \
     u.email_verified_at_ms, m.org_id FROM users u JOIN org_members m ON m.user_id = u.id";

pub async fn user_by_email(env: &Env, email: &str) -> Result<Option<UserRecord>, Problem> {
    let db = d1(env)?;
    let sql = format!("{USER_RECORD} WHERE u.email = ?1 ORDER BY m.created_at_ms LIMIT 1");
    db.prepare(sql)
        .bind(&[text(email)])
        .map_err(|e| storage_failure("accounts.user_by_email", e))?
        .first::<UserRecord>(None)
        .await
        .map_err(|e| storage_failure("accounts.user_by_email", e))
}

/// One batch: a new refresh session, and the upgraded password hash when the stored
/// one is weaker than the current configuration.
pub async fn start_session(
    env: &Env,
    user_id: &str,
    session_id: &str,
    refresh_hash: &str,
    now_ms: i64,
    expires_ms: i64,
    rehash: Option<&str>,
) -> Result<(), Problem> {
    let db = d1(env)?;
    let what = "accounts.start_session";
    let mut batch = vec![insert_session(
        &db,
        session_id,
        session_id,
        user_id,
        refresh_hash,
        now_ms,
        expires_ms,
    )?];
    if let Some(hash) = rehash {
        batch.push(stmt(
            &db,
            "UPDATE users SET password_hash = ?1 WHERE id = ?2",
            &[text(hash), text(user_id)],
            what,
        )?);
    }
    db.batch(batch)
        .await
        .map_err(|e| storage_failure(what, e))?;
    Ok(())
}

// ---- email verification ----------------------------------------------------------------

pub enum Verification {
    Verified,
    Expired,
    Invalid,
}

#[derive(Deserialize)]
struct LinkState {
    expires_at_ms: f64,
}

/// One batch: consume the link if it is unused and unexpired, mark its user verified,
/// and read the link back to tell "expired" from "unknown or used".
pub async fn verify_email(
    env: &Env,
    token_hash: &str,
    now_ms: i64,
) -> Result<Verification, Problem> {
    let db = d1(env)?;
    let what = "accounts.verify_email";
    let consume = stmt(
        &db,
        "UPDATE email_verifications SET used_at_ms = ?2 \
         WHERE token_hash = ?1 AND used_at_ms IS NULL AND expires_at_ms > ?2",
        &[text(token_hash), num(now_ms)],
        what,
    )?;
    let mark = stmt(
        &db,
        "UPDATE users SET email_verified_at_ms = ?2 WHERE email_verified_at_ms IS NULL AND id IN \
         (SELECT user_id FROM email_verifications WHERE token_hash = ?1 AND used_at_ms = ?2)",
        &[text(token_hash), num(now_ms)],
        what,
    )?;
    let state = stmt(
        &db,
        "SELECT expires_at_ms FROM email_verifications WHERE token_hash = ?1 AND used_at_ms IS NULL",
        &[text(token_hash)],
        what,
    )?;
    let results = db
        .batch(vec![consume, mark, state])
        .await
        .map_err(|e| storage_failure(what, e))?;
    if changes(&results, 0) > 0 {
        return Ok(Verification::Verified);
    }
    let unused = rows::<LinkState>(&results, 2, what)?;
    Ok(match unused.first() {
        Some(link) if link.expires_at_ms <= now_ms as f64 => Verification::Expired,
        _ => Verification::Invalid,
    })
}

#[derive(Deserialize)]
pub struct ResendTarget {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email_verified_at_ms: Option<f64>,
    pub last_sent_ms: Option<f64>,
}

pub async fn resend_target(env: &Env, email: &str) -> Result<Option<ResendTarget>, Problem> {
    let db = d1(env)?;
    db.prepare(
        "SELECT u.id, u.first_name, u.last_name, u.email_verified_at_ms, \
         (SELECT max(created_at_ms) FROM email_verifications v WHERE v.user_id = u.id) AS last_sent_ms \
         FROM users u WHERE u.email = ?1",
    )
    .bind(&[text(email)])
    .map_err(|e| storage_failure("accounts.resend_target", e))?
    .first::<ResendTarget>(None)
    .await
    .map_err(|e| storage_failure("accounts.resend_target", e))
}

/// One batch: retire every unused link of the user, store the new one.
pub async fn replace_verification(
    env: &Env,
    user_id: &str,
    token_hash: &str,
    now_ms: i64,
    expires_ms: i64,
) -> Result<(), Problem> {
    let db = d1(env)?;
    let what = "accounts.replace_verification";
    let retire = stmt(
        &db,
        "UPDATE email_verifications SET used_at_ms = ?2 WHERE user_id = ?1 AND used_at_ms IS NULL",
        &[text(user_id), num(now_ms)],
        what,
    )?;
    let insert = stmt(
        &db,
        "INSERT INTO email_verifications (token_hash, user_id, created_at_ms, expires_at_ms) VALUES (?1, ?2, ?3, ?4)",
        &[text(token_hash), text(user_id), num(now_ms), num(expires_ms)],
        what,
    )?;
    db.batch(vec![retire, insert])
        .await
        .map_err(|e| storage_failure(what, e))?;
    Ok(())
}

// ---- refresh sessions ------------------------------------------------------------------

#[derive(Deserialize)]
pub struct SessionRecord {
    pub family_id: String,
    pub token_hash: String,
    pub revoked_at_ms: Option<f64>,
    pub user_id: String,
    pub org_id: String,
    pub email_verified_at_ms: Option<f64>,
}

pub async fn session(env: &Env, session_id: &str) -> Result<Option<SessionRecord>, Problem> {
    let db = d1(env)?;
    db.prepare(
        "SELECT s.family_id, s.token_hash, s.revoked_at_ms, s.user_id, u.email_verified_at_ms, \
         (SELECT org_id FROM org_members m WHERE m.user_id = s.user_id ORDER BY m.created_at_ms LIMIT 1) AS org_id \
         FROM refresh_sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?1",
    )
    .bind(&[text(session_id)])
    .map_err(|e| storage_failure("accounts.session", e))?
    .first::<SessionRecord>(None)
    .await
    .map_err(|e| storage_failure("accounts.session", e))
}

/// Rotates `old` to `new` in one batch. The insert only happens if this request is
/// the one that retired `old`, so two concurrent uses of one token cannot both rotate.
/// Returns false when `old` was already retired (reuse).
#[allow(clippy::too_many_arguments)]
pub async fn rotate_session(
    env: &Env,
    old_id: &str,
    new_id: &str,
    family_id: &str,
    user_id: &str,
    new_hash: &str,
    now_ms: i64,
    expires_ms: i64,
) -> Result<bool, Problem> {
    let db = d1(env)?;
    let what = "accounts.rotate_session";
    let retire = stmt(
        &db,
        "UPDATE refresh_sessions SET revoked_at_ms = ?3, replaced_by = ?2 WHERE id = ?1 AND revoked_at_ms IS NULL",
        &[text(old_id), text(new_id), num(now_ms)],
        what,
    )?;
    let insert = stmt(
        &db,
        "INSERT INTO refresh_sessions (id, family_id, user_id, token_hash, created_at_ms, expires_at_ms) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS \
         (SELECT 1 FROM refresh_sessions WHERE id = ?7 AND replaced_by = ?1)",
        &[text(new_id), text(family_id), text(user_id), text(new_hash), num(now_ms), num(expires_ms), text(old_id)],
        what,
    )?;
    let results = db
        .batch(vec![retire, insert])
        .await
        .map_err(|e| storage_failure(what, e))?;
    Ok(changes(&results, 1) > 0)
}

/// Revokes every live session of a family (refresh-token reuse detected).
pub async fn revoke_family(env: &Env, family_id: &str, now_ms: i64) -> Result<(), Problem> {
    let db = d1(env)?;
    stmt(
        &db,
        "UPDATE refresh_sessions SET revoked_at_ms = ?2 WHERE family_id = ?1 AND revoked_at_ms IS NULL",
        &[text(family_id), num(now_ms)],
        "accounts.revoke_family",
    )?
    .run()
    .await
    .map_err(|e| storage_failure("accounts.revoke_family", e))?;
    Ok(())
}

// ---- authorization ---------------------------------------------------------------------

#[derive(Deserialize)]
pub struct Membership {
    pub role: String,
    pub email_verified_at_ms: Option<f64>,
}

/// The user's role in an organization and whether their email is verified (now, not
/// as of their token), in one read.
pub async fn membership(
    env: &Env,
    user_id: &str,
    org_id: &str,
) -> Result<Option<Membership>, Problem> {
    let db = d1(env)?;
    db.prepare(
        "SELECT m.role, u.email_verified_at_ms FROM users u \
         LEFT JOIN org_members m ON m.user_id = u.id AND m.org_id = ?2 WHERE u.id = ?1",
    )
    .bind(&[text(user_id), text(org_id)])
    .map_err(|e| storage_failure("accounts.membership", e))?
    .first::<MembershipRow>(None)
    .await
    .map_err(|e| storage_failure("accounts.membership", e))
    .map(|row| {
        row.and_then(|r| {
            r.role.map(|role| Membership {
                role,
                email_verified_at_ms: r.email_verified_at_ms,
            })
        })
    })
}

#[derive(Deserialize)]
struct MembershipRow {
    role: Option<String>,
    email_verified_at_ms: Option<f64>,
}
