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

/// What sign-up reads before deciding: the user with this email, the organization
/// that has claimed the domain, and whether the domain is a free-mail provider's.
pub struct SignupContext {
    pub user: Option<ExistingUser>,
    pub claimed_by: Option<DomainOrg>,
    pub free_mail: bool,
}

#[derive(Deserialize)]
struct FreeMail {
    free: i64,
}

/// One read batch (see [`SignupContext`]).
pub async fn signup_context(
    env: &Env,
    email: &str,
    domain: Option<&str>,
) -> Result<SignupContext, Problem> {
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
    let free_mail = stmt(
        &db,
        "SELECT EXISTS (SELECT 1 FROM free_mail_domains WHERE domain = ?1) AS free",
        &[opt_text(domain)],
        what,
    )?;
    let results = db
        .batch(vec![user, org, free_mail])
        .await
        .map_err(|e| storage_failure(what, e))?;
    Ok(SignupContext {
        user: rows::<ExistingUser>(&results, 0, what)?.into_iter().next(),
        claimed_by: rows::<DomainOrg>(&results, 1, what)?.into_iter().next(),
        free_mail: rows::<FreeMail>(&results, 2, what)?
            .first()
            .is_some_and(|f| f.free != 0),
    })
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
    /// The link's public id (`verificationTokenId`).
    pub verification_id: &'a str,
    pub is_business: bool,
    pub session_id: &'a str,
    pub refresh_hash: &'a str,
    pub now_ms: i64,
    pub verification_expires_ms: i64,
    pub refresh_expires_ms: i64,
}

pub struct NewOrg<'a> {
    pub name: &'a str,
    /// The domain it claims once its founder's email is verified (`verify_email`).
    pub pending_domain: Option<&'a str>,
    pub subscription_id: &'a str,
    pub trial_ends_ms: i64,
}

pub enum CreateOutcome {
    Created,
    /// The unique email index refused the user: someone else signed up first.
    EmailTaken,
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
            "INSERT INTO organizations (id, name, pending_domain, created_at_ms) VALUES (?1, ?2, ?3, ?4)",
            &[
                text(a.org_id),
                text(org.name),
                opt_text(org.pending_domain),
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
        "INSERT INTO users (id, email, password_hash, first_name, last_name, created_at_ms, is_business) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &[text(a.user_id), text(a.email), text(a.password_hash), text(a.first_name), text(a.last_name), num(a.now_ms),
          num(i64::from(a.is_business))],
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
        "INSERT INTO email_verifications (token_hash, user_id, created_at_ms, expires_at_ms, id) VALUES (?1, ?2, ?3, ?4, ?5)",
        &[text(a.verification_hash), text(a.user_id), num(a.now_ms), num(a.verification_expires_ms), text(a.verification_id)],
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
        None,
    )?);
    match db.batch(batch).await {
        Ok(_) => Ok(CreateOutcome::Created),
        Err(e) => {
            let message = e.to_string();
            if message.contains("users.email") {
                Ok(CreateOutcome::EmailTaken)
            } else {
                Err(storage_failure(what, message))
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn insert_session(
    db: &D1Database,
    id: &str,
    family_id: &str,
    user_id: &str,
    token_hash: &str,
    now_ms: i64,
    expires_ms: i64,
    device_info: Option<&str>,
) -> Result<D1PreparedStatement, Problem> {
    stmt(
        db,
        "INSERT INTO refresh_sessions (id, family_id, user_id, token_hash, created_at_ms, expires_at_ms, device_info) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &[text(id), text(family_id), text(user_id), text(token_hash), num(now_ms), num(expires_ms), opt_text(device_info)],
        "accounts.insert_session",
    )
}

// ---- login ---------------------------------------------------------------------------

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
    env: &Env,
    email: &str,
    network: &str,
    known_since_ms: i64,
) -> Result<Option<LoginRecord>, Problem> {
    let db = d1(env)?;
    let what = "accounts.login_record";
    stmt(
        &db,
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
        what,
    )?
    .first::<LoginRecord>(None)
    .await
    .map_err(|e| storage_failure(what, e))
}

/// Counts one failed password: a new window starts when the last one is over.
pub async fn record_login_failure(
    env: &Env,
    user_id: &str,
    now_ms: i64,
    window_ms: i64,
) -> Result<(), Problem> {
    let db = d1(env)?;
    let what = "accounts.record_login_failure";
    stmt(
        &db,
        "UPDATE users SET \
           failed_logins = CASE WHEN failed_logins_since_ms > ?2 - ?3 THEN failed_logins + 1 ELSE 1 END, \
           failed_logins_since_ms = CASE WHEN failed_logins_since_ms > ?2 - ?3 \
                                         THEN failed_logins_since_ms ELSE ?2 END \
         WHERE id = ?1",
        &[text(user_id), num(now_ms), num(window_ms)],
        what,
    )?
    .run()
    .await
    .map_err(|e| storage_failure(what, e))?;
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
pub async fn start_session(env: &Env, login: &NewLogin<'_>) -> Result<(), Problem> {
    let db = d1(env)?;
    let what = "accounts.start_session";
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
        )?,
        stmt(
            &db,
            "INSERT INTO login_networks (user_id, network, last_success_ms) VALUES (?1, ?2, ?3) \
             ON CONFLICT (user_id, network) DO UPDATE SET last_success_ms = excluded.last_success_ms",
            &[text(login.user_id), text(login.network), num(login.now_ms)],
            what,
        )?,
    ];
    if let Some(hash) = login.rehash {
        batch.push(stmt(
            &db,
            "UPDATE users SET password_hash = ?1 WHERE id = ?2",
            &[text(hash), text(login.user_id)],
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

/// The user whose link this batch consumed (?1 token hash, ?2 now): empty when the
/// link was unknown, used or expired, so the statements below then change nothing.
const VERIFIED_USER: &str =
    "SELECT user_id FROM email_verifications WHERE token_hash = ?1 AND used_at_ms = ?2";

/// One batch: consume the link if it is unused and unexpired, mark its user verified,
/// settle who holds the user's organization, and read the link back to tell
/// "expired" from "unknown or used".
///
/// Settling: a member of an organization that has no verified OWNER becomes its
/// OWNER (the first verified member leads an organization nobody verified), and an
/// organization the user owns claims its `pending_domain` if the user's email is at
/// that domain and no organization has claimed it yet; if a colleague's organization
/// claimed it first, the user joins it instead (below). Claims happen only here, so
/// an unverified sign-up never captures the colleagues who come after it.
pub async fn verify_email(
    env: &Env,
    token_hash: &str,
    now_ms: i64,
) -> Result<Verification, Problem> {
    let db = d1(env)?;
    let what = "accounts.verify_email";
    let args = [text(token_hash), num(now_ms)];
    let consume = stmt(
        &db,
        "UPDATE email_verifications SET used_at_ms = ?2 \
         WHERE token_hash = ?1 AND used_at_ms IS NULL AND expires_at_ms > ?2",
        &args,
        what,
    )?;
    let mark = stmt(
        &db,
        &format!(
            "UPDATE users SET email_verified_at_ms = ?2 \
             WHERE email_verified_at_ms IS NULL AND id IN ({VERIFIED_USER})"
        ),
        &args,
        what,
    )?;
    let promote = stmt(
        &db,
        &format!(
            "UPDATE org_members SET role = 'OWNER' \
             WHERE user_id IN ({VERIFIED_USER}) AND role <> 'OWNER' AND NOT EXISTS ( \
                 SELECT 1 FROM org_members o JOIN users u ON u.id = o.user_id \
                 WHERE o.org_id = org_members.org_id AND o.role = 'OWNER' \
                   AND u.email_verified_at_ms IS NOT NULL)"
        ),
        &args,
        what,
    )?;
    let claim = stmt(
        &db,
        &format!(
            "UPDATE organizations SET domain = pending_domain, pending_domain = NULL \
             WHERE pending_domain IS NOT NULL \
               AND id IN (SELECT m.org_id FROM org_members m JOIN users u ON u.id = m.user_id \
                          WHERE m.user_id IN ({VERIFIED_USER}) AND m.role = 'OWNER' \
                            AND substr(u.email, instr(u.email, '@') + 1) = organizations.pending_domain) \
               AND NOT EXISTS (SELECT 1 FROM organizations c WHERE c.domain = organizations.pending_domain)"
        ),
        &args,
        what,
    )?;
    // The domain was claimed first by a colleague's organization: the user moves there
    // as a member if the organization they founded holds nothing yet (only them, no
    // keys, no nodes), and that empty organization and its trial go.
    let email_domain = format!(
        "(SELECT substr(email, instr(email, '@') + 1) FROM users WHERE id IN ({VERIFIED_USER}))"
    );
    let empty_pending_org = format!(
        "SELECT o.id FROM organizations o WHERE o.pending_domain = {email_domain} \
         AND (SELECT count(*) FROM org_members m WHERE m.org_id = o.id) = 1 \
         AND NOT EXISTS (SELECT 1 FROM org_keys k WHERE k.org_id = o.id) \
         AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.org_id = o.id)"
    );
    let claimed_org =
        format!("SELECT id FROM organizations WHERE domain = {email_domain} AND banned = 0");
    let join = stmt(
        &db,
        &format!(
            "UPDATE org_members SET org_id = ({claimed_org}), role = 'MEMBER' \
             WHERE user_id IN ({VERIFIED_USER}) AND role = 'OWNER' \
               AND org_id IN ({empty_pending_org}) AND EXISTS ({claimed_org})"
        ),
        &args,
        what,
    )?;
    let memberless = format!(
        "SELECT o.id FROM organizations o WHERE o.pending_domain = {email_domain} \
         AND NOT EXISTS (SELECT 1 FROM org_members m WHERE m.org_id = o.id)"
    );
    let drop_trial = stmt(
        &db,
        &format!("DELETE FROM subscriptions WHERE org_id IN ({memberless})"),
        &args,
        what,
    )?;
    let drop_org = stmt(
        &db,
        &format!("DELETE FROM organizations WHERE id IN ({memberless})"),
        &args,
        what,
    )?;
    let state = stmt(
        &db,
        "SELECT expires_at_ms FROM email_verifications WHERE token_hash = ?1 AND used_at_ms IS NULL",
        &args[..1],
        what,
    )?;
    let results = db
        .batch(vec![
            consume, mark, promote, claim, join, drop_trial, drop_org, state,
        ])
        .await
        .map_err(|e| storage_failure(what, e))?;
    if changes(&results, 0) > 0 {
        return Ok(Verification::Verified);
    }
    let unused = rows::<LinkState>(&results, 7, what)?;
    Ok(match unused.first() {
        Some(link) if link.expires_at_ms <= now_ms as f64 => Verification::Expired,
        _ => Verification::Invalid,
    })
}

#[derive(Deserialize)]
pub struct ResendTarget {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub email_verified_at_ms: Option<f64>,
    pub last_sent_ms: Option<f64>,
}

/// How a resend names its account.
pub enum ResendBy<'a> {
    Email(&'a str),
    /// The public id of any of the account's verification links.
    LinkId(&'a str),
}

pub async fn resend_target(env: &Env, by: ResendBy<'_>) -> Result<Option<ResendTarget>, Problem> {
    let (condition, value) = match by {
        ResendBy::Email(email) => ("u.email = ?1", email),
        ResendBy::LinkId(id) => (
            "u.id = (SELECT user_id FROM email_verifications WHERE id = ?1)",
            id,
        ),
    };
    let db = d1(env)?;
    db.prepare(format!(
        "SELECT u.id, u.email, u.first_name, u.last_name, u.email_verified_at_ms, \
         (SELECT max(created_at_ms) FROM email_verifications v WHERE v.user_id = u.id) AS last_sent_ms \
         FROM users u WHERE {condition}"
    ))
    .bind(&[text(value)])
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
    link_id: &str,
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
        "INSERT INTO email_verifications (token_hash, user_id, created_at_ms, expires_at_ms, id) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        &[
            text(token_hash),
            text(user_id),
            num(now_ms),
            num(expires_ms),
            text(link_id),
        ],
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
        "INSERT INTO refresh_sessions (id, family_id, user_id, token_hash, created_at_ms, expires_at_ms, device_info) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, (SELECT device_info FROM refresh_sessions WHERE id = ?7) WHERE EXISTS \
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
    pub org_banned: bool,
}

/// The user's role in an organization, whether their email is verified (now, not as
/// of their token) and whether the organization is banned, in one read.
pub async fn membership(
    env: &Env,
    user_id: &str,
    org_id: &str,
) -> Result<Option<Membership>, Problem> {
    let db = d1(env)?;
    db.prepare(
        "SELECT m.role, u.email_verified_at_ms, o.banned FROM users u \
         LEFT JOIN org_members m ON m.user_id = u.id AND m.org_id = ?2 \
         LEFT JOIN organizations o ON o.id = m.org_id WHERE u.id = ?1",
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
                org_banned: r.banned.unwrap_or(0) != 0,
            })
        })
    })
}

#[derive(Deserialize)]
struct MembershipRow {
    role: Option<String>,
    email_verified_at_ms: Option<f64>,
    banned: Option<i64>,
}

// ---- sign-out and profile --------------------------------------------------------------

/// Revokes the sign-in (refresh-token family) that `session_id` belongs to, if it is
/// `user_id`'s; already revoked or unknown changes nothing. One statement. Returns
/// whether a live token was revoked.
pub async fn sign_out(
    env: &Env,
    session_id: &str,
    user_id: &str,
    now_ms: i64,
) -> Result<bool, Problem> {
    let db = d1(env)?;
    let what = "accounts.sign_out";
    let result = stmt(
        &db,
        "UPDATE refresh_sessions SET revoked_at_ms = ?3 WHERE revoked_at_ms IS NULL AND family_id = \
         (SELECT family_id FROM refresh_sessions WHERE id = ?1 AND user_id = ?2)",
        &[text(session_id), text(user_id), num(now_ms)],
        what,
    )?
    .run()
    .await
    .map_err(|e| storage_failure(what, e))?;
    Ok(result
        .meta()
        .ok()
        .flatten()
        .and_then(|m| m.changes)
        .unwrap_or(0)
        > 0)
}

/// A live sign-in of a user: its current refresh token row.
#[derive(Deserialize)]
pub struct LiveSession {
    pub id: String,
    pub family_id: String,
    pub signed_in_ms: Option<f64>,
    pub last_used_ms: f64,
    pub expires_at_ms: f64,
    pub device_info: Option<String>,
}

/// The user's live sign-ins (one unrevoked, unexpired token each), newest use first.
pub async fn live_sessions(
    env: &Env,
    user_id: &str,
    now_ms: i64,
) -> Result<Vec<LiveSession>, Problem> {
    let db = d1(env)?;
    let what = "accounts.live_sessions";
    let results = db
        .batch(vec![stmt(
            &db,
            "SELECT s.id, s.family_id, s.created_at_ms AS last_used_ms, s.expires_at_ms, s.device_info, \
               (SELECT f.created_at_ms FROM refresh_sessions f WHERE f.id = s.family_id) AS signed_in_ms \
             FROM refresh_sessions s WHERE s.user_id = ?1 AND s.revoked_at_ms IS NULL \
               AND s.expires_at_ms > ?2 ORDER BY s.created_at_ms DESC",
            &[text(user_id), num(now_ms)],
            what,
        )?])
        .await
        .map_err(|e| storage_failure(what, e))?;
    rows(&results, 0, what)
}

#[derive(Deserialize)]
struct LinkUse {
    expires_at_ms: f64,
    used_at_ms: Option<f64>,
}

/// What a verification link is now, without using it.
pub async fn verification_link_state(
    env: &Env,
    token_hash: &str,
    now_ms: i64,
) -> Result<Verification, Problem> {
    let db = d1(env)?;
    let what = "accounts.verification_link_state";
    let link = stmt(
        &db,
        "SELECT expires_at_ms, used_at_ms FROM email_verifications WHERE token_hash = ?1",
        &[text(token_hash)],
        what,
    )?
    .first::<LinkUse>(None)
    .await
    .map_err(|e| storage_failure(what, e))?;
    Ok(match link {
        Some(l) if l.used_at_ms.is_none() && l.expires_at_ms > now_ms as f64 => {
            Verification::Verified
        }
        Some(l) if l.used_at_ms.is_none() => Verification::Expired,
        _ => Verification::Invalid,
    })
}

/// A user as their profile shows them, with their primary organization.
#[derive(Deserialize)]
pub struct Profile {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub email_verified_at_ms: Option<f64>,
    pub is_business: i64,
    pub org_id: Option<String>,
    pub role: Option<String>,
}

pub async fn profile(env: &Env, user_id: &str) -> Result<Option<Profile>, Problem> {
    let db = d1(env)?;
    let what = "accounts.profile";
    stmt(
        &db,
        "SELECT u.id, u.email, u.first_name, u.last_name, u.email_verified_at_ms, u.is_business, \
           m.org_id, m.role FROM users u \
         LEFT JOIN org_members m ON m.user_id = u.id AND m.org_id = \
           (SELECT org_id FROM org_members WHERE user_id = u.id ORDER BY created_at_ms LIMIT 1) \
         WHERE u.id = ?1",
        &[text(user_id)],
        what,
    )?
    .first::<Profile>(None)
    .await
    .map_err(|e| storage_failure(what, e))
}

// ---- password reset --------------------------------------------------------------------

#[derive(Deserialize)]
pub struct ResetTarget {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub last_sent_ms: Option<f64>,
}

/// The account with this email and when its last reset link was made.
pub async fn reset_target(env: &Env, email: &str) -> Result<Option<ResetTarget>, Problem> {
    let db = d1(env)?;
    let what = "accounts.reset_target";
    stmt(
        &db,
        "SELECT u.id, u.first_name, u.last_name, \
         (SELECT max(created_at_ms) FROM password_resets r WHERE r.user_id = u.id) AS last_sent_ms \
         FROM users u WHERE u.email = ?1",
        &[text(email)],
        what,
    )?
    .first::<ResetTarget>(None)
    .await
    .map_err(|e| storage_failure(what, e))
}

/// One batch: retire the user's unused reset links, store the new one.
pub async fn new_reset(
    env: &Env,
    user_id: &str,
    token_hash: &str,
    now_ms: i64,
    expires_ms: i64,
) -> Result<(), Problem> {
    let db = d1(env)?;
    let what = "accounts.new_reset";
    let retire = stmt(
        &db,
        "UPDATE password_resets SET used_at_ms = ?2, used_by = 'superseded' \
         WHERE user_id = ?1 AND used_at_ms IS NULL",
        &[text(user_id), num(now_ms)],
        what,
    )?;
    let insert = stmt(
        &db,
        "INSERT INTO password_resets (token_hash, user_id, created_at_ms, expires_at_ms) \
         VALUES (?1, ?2, ?3, ?4)",
        &[
            text(token_hash),
            text(user_id),
            num(now_ms),
            num(expires_ms),
        ],
        what,
    )?;
    db.batch(vec![retire, insert])
        .await
        .map_err(|e| storage_failure(what, e))?;
    Ok(())
}

pub enum Reset {
    Done,
    Expired,
    Invalid,
}

/// One batch: use the link if it is unused and unexpired (marked with this request's
/// `request_id`, so only the request that used it goes on), set the new password
/// hash, clear the failure counter, end every sign-in of the user, and read the link
/// back to tell "expired" from "unknown or used".
pub async fn reset_password(
    env: &Env,
    token_hash: &str,
    request_id: &str,
    password_hash: &str,
    now_ms: i64,
) -> Result<Reset, Problem> {
    let db = d1(env)?;
    let what = "accounts.reset_password";
    let args = [
        text(token_hash),
        num(now_ms),
        text(request_id),
        text(password_hash),
    ];
    let mine = "SELECT user_id FROM password_resets WHERE token_hash = ?1 AND used_by = ?3";
    let consume = stmt(
        &db,
        "UPDATE password_resets SET used_at_ms = ?2, used_by = ?3 \
         WHERE token_hash = ?1 AND used_at_ms IS NULL AND expires_at_ms > ?2",
        &args[..3],
        what,
    )?;
    let set = stmt(
        &db,
        &format!(
            "UPDATE users SET password_hash = ?4, failed_logins = 0, failed_logins_since_ms = NULL \
             WHERE id IN ({mine})"
        ),
        &args,
        what,
    )?;
    let sign_out = stmt(
        &db,
        &format!(
            "UPDATE refresh_sessions SET revoked_at_ms = ?2 \
             WHERE revoked_at_ms IS NULL AND user_id IN ({mine})"
        ),
        &args[..3],
        what,
    )?;
    let state = stmt(
        &db,
        "SELECT expires_at_ms FROM password_resets WHERE token_hash = ?1 AND used_at_ms IS NULL",
        &args[..1],
        what,
    )?;
    let results = db
        .batch(vec![consume, set, sign_out, state])
        .await
        .map_err(|e| storage_failure(what, e))?;
    if changes(&results, 0) > 0 {
        return Ok(Reset::Done);
    }
    Ok(match rows::<LinkState>(&results, 3, what)?.first() {
        Some(link) if link.expires_at_ms <= now_ms as f64 => Reset::Expired,
        _ => Reset::Invalid,
    })
}
