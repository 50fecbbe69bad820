//! Email verification links: using one (and settling the domain claim), resending,
//! and reading one's state without using it.

use super::unused_link_expired;
use crate::store::{changes, num, text, Db, Route};
use gatehouse_core::http::problem::Problem;
use serde::Deserialize;

pub enum Verification {
    Verified,
    Expired,
    Invalid,
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
pub async fn verify_email(db: &Db, token_hash: &str, now_ms: i64) -> Result<Verification, Problem> {
    let what = "accounts.verify_email";
    let db = db.trip(Route::Primary, what);
    let args = [text(token_hash), num(now_ms)];
    let consume = db.statement(
        "UPDATE email_verifications SET used_at_ms = ?2 \
         WHERE token_hash = ?1 AND used_at_ms IS NULL AND expires_at_ms > ?2",
        &args,
    );
    let mark = db.statement(
        &format!(
            "UPDATE users SET email_verified_at_ms = ?2 \
             WHERE email_verified_at_ms IS NULL AND id IN ({VERIFIED_USER})"
        ),
        &args,
    );
    let promote = db.statement(
        &format!(
            "UPDATE org_members SET role = 'OWNER' \
             WHERE user_id IN ({VERIFIED_USER}) AND role <> 'OWNER' AND NOT EXISTS ( \
                 SELECT 1 FROM org_members o JOIN users u ON u.id = o.user_id \
                 WHERE o.org_id = org_members.org_id AND o.role = 'OWNER' \
                   AND u.email_verified_at_ms IS NOT NULL)"
        ),
        &args,
    );
    let claim = db.statement(&format!(
            "UPDATE organizations SET domain = pending_domain, pending_domain = NULL \
             WHERE pending_domain IS NOT NULL \
               AND id IN (SELECT m.org_id FROM org_members m JOIN users u ON u.id = m.user_id \
                          WHERE m.user_id IN ({VERIFIED_USER}) AND m.role = 'OWNER' \
                            AND substr(u.email, instr(u.email, '@') + 1) = organizations.pending_domain) \
               AND NOT EXISTS (SELECT 1 FROM organizations c WHERE c.domain = organizations.pending_domain)"
        ), &args);
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
    let join = db.statement(
        &format!(
            "UPDATE org_members SET org_id = ({claimed_org}), role = 'MEMBER' \
             WHERE user_id IN ({VERIFIED_USER}) AND role = 'OWNER' \
               AND org_id IN ({empty_pending_org}) AND EXISTS ({claimed_org})"
        ),
        &args,
    );
    let memberless = format!(
        "SELECT o.id FROM organizations o WHERE o.pending_domain = {email_domain} \
         AND NOT EXISTS (SELECT 1 FROM org_members m WHERE m.org_id = o.id)"
    );
    let drop_trial = db.statement(
        &format!("DELETE FROM subscriptions WHERE org_id IN ({memberless})"),
        &args,
    );
    let drop_org = db.statement(
        &format!("DELETE FROM organizations WHERE id IN ({memberless})"),
        &args,
    );
    let state = db.statement(
        "SELECT expires_at_ms FROM email_verifications WHERE token_hash = ?1 AND used_at_ms \
         IS NULL",
        &args[..1],
    );
    let results = db
        .batch(vec![
            consume, mark, promote, claim, join, drop_trial, drop_org, state,
        ])
        .await?;
    if changes(&results, 0) > 0 {
        return Ok(Verification::Verified);
    }
    Ok(if unused_link_expired(&results, 7, now_ms, what)? {
        Verification::Expired
    } else {
        Verification::Invalid
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

pub async fn resend_target(db: &Db, by: ResendBy<'_>) -> Result<Option<ResendTarget>, Problem> {
    let (condition, value) = match by {
        ResendBy::Email(email) => ("u.email = ?1", email),
        ResendBy::LinkId(id) => (
            "u.id = (SELECT user_id FROM email_verifications WHERE id = ?1)",
            id,
        ),
    };
    let db = db.trip(Route::Primary, "accounts.resend_target");
    let statement = db.statement(&format!(
        "SELECT u.id, u.email, u.first_name, u.last_name, u.email_verified_at_ms, \
         (SELECT max(created_at_ms) FROM email_verifications v WHERE v.user_id = u.id) AS last_sent_ms \
         FROM users u WHERE {condition}"
    ), &[text(value)]);
    db.first::<ResendTarget>(statement).await
}

/// One batch: retire every unused link of the user, store the new one.
pub async fn replace_verification(
    db: &Db,
    user_id: &str,
    token_hash: &str,
    link_id: &str,
    now_ms: i64,
    expires_ms: i64,
) -> Result<(), Problem> {
    let what = "accounts.replace_verification";
    let db = db.trip(Route::Primary, what);
    let retire = db.statement(
        "UPDATE email_verifications SET used_at_ms = ?2 WHERE user_id = ?1 AND used_at_ms IS NULL",
        &[text(user_id), num(now_ms)],
    );
    let insert = db.statement(
        "INSERT INTO email_verifications (token_hash, user_id, created_at_ms, expires_at_ms, id) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        &[
            text(token_hash),
            text(user_id),
            num(now_ms),
            num(expires_ms),
            text(link_id),
        ],
    );
    db.batch(vec![retire, insert]).await?;
    Ok(())
}

#[derive(Deserialize)]
struct LinkUse {
    expires_at_ms: f64,
    used_at_ms: Option<f64>,
}

/// What a verification link is now, without using it.
pub async fn verification_link_state(
    db: &Db,
    token_hash: &str,
    now_ms: i64,
) -> Result<Verification, Problem> {
    let what = "accounts.verification_link_state";
    let db = db.trip(Route::Primary, what);
    let statement = db.statement(
        "SELECT expires_at_ms, used_at_ms FROM email_verifications WHERE token_hash = ?1",
        &[text(token_hash)],
    );
    let link = db.first::<LinkUse>(statement).await?;
    Ok(match link {
        Some(l) if l.used_at_ms.is_none() && l.expires_at_ms > now_ms as f64 => {
            Verification::Verified
        }
        Some(l) if l.used_at_ms.is_none() => Verification::Expired,
        _ => Verification::Invalid,
    })
}
