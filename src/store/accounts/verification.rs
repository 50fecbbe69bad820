//! Email verification links: using one (and settling the domain claim), resending.

use super::links::{
    new_link, unused_link_expired, LinkToMake, NewLink, NewLinkOutcome, OneTimeLink,
};
use super::take_back_attempt;
use crate::store::org_changes::{recipients, Recipient, OWNERS_TOLD};
use crate::store::{changes, num, rows, text, Db, Route, DEFER_FOREIGN_KEYS};
use gatehouse_core::account::LINK_WINDOW_MS;
use gatehouse_core::http::problem::Problem;
use serde_json::Value;

pub enum Verification {
    /// `joined`: the account is now a verified MEMBER of another's organization (it
    /// joined by its address's domain), whose OWNERs are told.
    Verified {
        joined: Option<Joined>,
    },
    Expired,
    Invalid,
}

/// An organization a verification made someone a member of, and its OWNERs to tell.
pub struct Joined {
    pub org_id: String,
    pub owners: Vec<Recipient>,
}

/// The user whose link this batch consumed (?1 token hash, ?3 this request's id): empty
/// when the link was unknown, used, retired or expired, so the statements below then
/// change nothing. By the request, not the time: a link a resend retired in the same
/// millisecond is not this batch's (migration 0026).
const VERIFIED_USER: &str =
    "SELECT user_id FROM email_verifications WHERE token_hash = ?1 AND used_by = ?3";

/// One batch: consume the link if it is unused and unexpired and its account's
/// password hash is still `password_hash` (the one the caller's password was checked
/// against: a reset in between wins), mark its user verified, settle who holds the
/// user's organization, and read the link back to tell "expired" from "unknown or
/// used".
///
/// Settling: an organization the user owns claims its `pending_domain` if the user's
/// email is at that domain and no organization has claimed it yet; if a colleague's
/// organization claimed it first (and is not banned), the user joins it instead
/// (below). Then a member of an organization that has no verified OWNER becomes its
/// OWNER (the first verified member leads an organization nobody verified). Claims
/// and joins happen only here, so an unverified sign-up never captures the colleagues
/// who come after it, nor joins anyone.
///
/// Last, the batch reads the verified OWNERs of the organization the user is now a
/// MEMBER of, if any: a join by domain is told to them (SECURITY.md, "Known gaps": a
/// `+` tag of a colleague's mailbox makes an account of its own).
///
/// The password check was counted as a failed login of `user_id` from `network` before
/// it was made (reserve_login_attempt, as login counts its attempts); the right password
/// takes that count back here (and clears the network's counter), as a successful
/// login does, whether or not the link is still there to consume (a double submit, a
/// link that expired meanwhile).
pub async fn verify_email(
    db: &Db,
    token_hash: &str,
    request_id: &str,
    password_hash: &str,
    user_id: &str,
    network: &str,
    now_ms: i64,
) -> Result<Verification, Problem> {
    let what = "accounts.verify_email";
    let db = db.trip(Route::Primary, what);
    let args = [text(token_hash), num(now_ms), text(request_id)];
    let consume = db.statement(
        "UPDATE email_verifications SET used_at_ms = ?2, used_by = ?3 \
         WHERE token_hash = ?1 AND used_at_ms IS NULL AND expires_at_ms > ?2 \
           AND (SELECT password_hash FROM users u WHERE u.id = user_id) = ?4",
        &[
            text(token_hash),
            num(now_ms),
            text(request_id),
            text(password_hash),
        ],
    );
    let mark = db.statement(
        format!(
            "UPDATE users SET email_verified_at_ms = ?2 \
             WHERE email_verified_at_ms IS NULL AND id IN ({VERIFIED_USER})"
        ),
        &args,
    );
    let email_domain = format!(
        "(SELECT substr(email, instr(email, '@') + 1) FROM users WHERE id IN ({VERIFIED_USER}))"
    );
    // The organizations the user is an OWNER of: every statement below starts from the
    // user's own memberships (an index lookup), never from the organizations pending
    // at a domain, which strangers' sign-ups may make many. SQLite, without statistics
    // (nothing runs ANALYZE), would start from the pending_domain index instead: the
    // unary `+` on the column keeps it off that index (security_account_reads.rs).
    let owned = format!(
        "SELECT org_id FROM org_members WHERE user_id IN ({VERIFIED_USER}) AND role = 'OWNER'"
    );
    let claim = db.statement(
        format!(
            "UPDATE organizations SET domain = pending_domain, pending_domain = NULL \
             WHERE id IN ({owned}) AND +pending_domain = {email_domain} \
               AND NOT EXISTS (SELECT 1 FROM organizations c WHERE c.domain = {email_domain})"
        ),
        &args,
    );
    // The domain was claimed first by a colleague's organization: the user moves there
    // as a member if the organization they founded holds nothing yet (only them, read
    // in its row's member_count, migration 0027; no keys, no nodes), and that empty
    // organization and its trial go — deleted first, while its membership still finds
    // it (the foreign keys are checked when the batch commits, by which time the
    // membership has moved).
    let claimed_org =
        format!("SELECT id FROM organizations WHERE domain = {email_domain} AND banned = 0");
    let left_behind = format!(
        "SELECT o.id FROM organizations o WHERE o.id IN ({owned}) \
         AND +o.pending_domain = {email_domain} \
         AND o.member_count = 1 \
         AND NOT EXISTS (SELECT 1 FROM org_keys k WHERE k.org_id = o.id) \
         AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.org_id = o.id) \
         AND EXISTS ({claimed_org})"
    );
    let defer = db.statement(DEFER_FOREIGN_KEYS, &[]);
    let drop_trial = db.statement(
        format!("DELETE FROM subscriptions WHERE org_id IN ({left_behind})"),
        &args,
    );
    let drop_org = db.statement(
        format!("DELETE FROM organizations WHERE id IN ({left_behind})"),
        &args,
    );
    let join = db.statement(
        format!(
            "UPDATE org_members SET org_id = ({claimed_org}), role = 'MEMBER' \
             WHERE user_id IN ({VERIFIED_USER}) AND role = 'OWNER' \
               AND NOT EXISTS (SELECT 1 FROM organizations o WHERE o.id = org_members.org_id) \
               AND EXISTS ({claimed_org})"
        ),
        &args,
    );
    // After the move: whoever joins an organization with no verified OWNER leads it.
    let promote = db.statement(
        format!(
            "UPDATE org_members SET role = 'OWNER' \
             WHERE user_id IN ({VERIFIED_USER}) AND role <> 'OWNER' AND NOT EXISTS ( \
                 SELECT 1 FROM org_members o JOIN users u ON u.id = o.user_id \
                 WHERE o.org_id = org_members.org_id AND o.role = 'OWNER' \
                   AND u.email_verified_at_ms IS NOT NULL)"
        ),
        &args,
    );
    let state = db.statement(
        "SELECT expires_at_ms FROM email_verifications WHERE token_hash = ?1 AND used_at_ms \
         IS NULL",
        &args[..1],
    );
    let joined_owners = db.statement(
        format!(
            "SELECT me.org_id, u.id, u.email FROM org_members me \
             JOIN org_members m ON m.org_id = me.org_id AND m.role = 'OWNER' \
             JOIN users u ON u.id = m.user_id AND u.email_verified_at_ms IS NOT NULL \
             WHERE me.user_id IN ({VERIFIED_USER}) AND me.role = 'MEMBER' \
             ORDER BY m.created_at_ms, u.id LIMIT {OWNERS_TOLD}"
        ),
        &args,
    );
    // A verified account's links leave its mailbox's count (they were kept there while
    // it was an unverified alias: links::inbox_links), as the account itself does: the
    // window's links, the only ones counted (a range of the (user_id, created_at_ms)
    // index).
    let out_of_the_inbox = |table: &str| {
        db.statement(
            format!(
                "UPDATE {table} SET inbox = NULL WHERE user_id IN ({VERIFIED_USER}) \
                 AND created_at_ms > ?2 - {LINK_WINDOW_MS} AND inbox IS NOT NULL"
            ),
            &args,
        )
    };
    let results = db
        .batch(
            vec![
                consume,
                mark,
                defer,
                claim,
                drop_trial,
                drop_org,
                join,
                promote,
                state,
                joined_owners,
                out_of_the_inbox("email_verifications"),
                out_of_the_inbox("password_resets"),
            ]
            .into_iter()
            // As a successful login does (its network's row names the network, which a
            // verification should not leave behind).
            .chain(take_back_attempt(&db, user_id, password_hash, network))
            .collect(),
        )
        .await?;
    if changes(&results, 0) > 0 {
        let told: Vec<Value> = rows(&results, 9, what)?;
        let joined = told
            .first()
            .and_then(|row| row["org_id"].as_str())
            .map(|org_id| Joined {
                org_id: org_id.to_owned(),
                owners: recipients(&told),
            });
        return Ok(Verification::Verified { joined });
    }
    Ok(if unused_link_expired(&results, 8, now_ms, what)? {
        Verification::Expired
    } else {
        Verification::Invalid
    })
}

/// How a resend names its account.
pub enum ResendBy<'a> {
    Email(&'a str),
    /// The public id of any of the account's verification links.
    LinkId(&'a str),
}

/// A new verification link for the unverified account `by` names, unless its last
/// link is younger than `interval_ms` (older unused ones retired) or the deployment's
/// mail to unproven addresses has no room (its `mail`); one batch whether or not the
/// account exists (links::new_link).
pub async fn resend_verification(
    db: &Db,
    by: ResendBy<'_>,
    link: LinkToMake<'_>,
) -> Result<NewLinkOutcome, Problem> {
    let (account, value) = match by {
        ResendBy::Email(email) => ("u.email = ?1 AND u.email_verified_at_ms IS NULL", email),
        ResendBy::LinkId(id) => (
            "u.id = (SELECT user_id FROM email_verifications WHERE id = ?1) \
             AND u.email_verified_at_ms IS NULL",
            id,
        ),
    };
    let link = NewLink {
        kind: OneTimeLink::Verification,
        account,
        value,
        link,
    };
    new_link(db, "accounts.resend_verification", link).await
}
