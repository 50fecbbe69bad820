//! One-time links (email verification, password reset): making one, what a link is
//! now without using it, and how a batch that tried to use one tells "expired" from
//! "unknown or used".
//!
//! Routes read a link before any costly work (the password KDF): a made-up or used
//! token is refused after one cheap read.

use super::mail_budget::{self, Placeholders, UnprovenMail};
use crate::store::{num, rows, text, Db, Route};
use gatehouse_core::account::{INBOX_LINKS_PER_WINDOW, LINKS_PER_WINDOW, LINK_WINDOW_MS};
use gatehouse_core::http::problem::Problem;

#[derive(Clone, Copy)]
pub enum OneTimeLink {
    Verification,
    PasswordReset,
}

impl OneTimeLink {
    fn table(self) -> &'static str {
        match self {
            OneTimeLink::Verification => "email_verifications",
            OneTimeLink::PasswordReset => "password_resets",
        }
    }

    /// The columns a new link stores, their values over the due account (`id`, and
    /// `inbox`: its mailbox while it is an unverified alias), and how many parameters
    /// that takes (only verification links have a public id, `?6`).
    fn new_row(self) -> (&'static str, usize) {
        match self {
            OneTimeLink::Verification => (
                "(token_hash, user_id, created_at_ms, expires_at_ms, inbox, id) \
                 SELECT ?2, id, ?3, ?5, inbox, ?6",
                6,
            ),
            OneTimeLink::PasswordReset => (
                "(token_hash, user_id, created_at_ms, expires_at_ms, inbox) \
                 SELECT ?2, id, ?3, ?5, inbox",
                5,
            ),
        }
    }
}

/// SQL: how many links of `table` the unverified aliases of mailbox `inbox` (an SQL
/// expression) got in the window before `now` (a placeholder), counted up to `limit`:
/// a range of the table's (inbox, created_at_ms) index, `limit` rows at most.
pub(super) fn inbox_links(table: &str, inbox: &str, now: &str, limit: i64) -> String {
    format!(
        "(SELECT count(*) FROM (SELECT 1 FROM {table} l WHERE l.inbox = {inbox} \
         AND l.created_at_ms > {now} - {LINK_WINDOW_MS} LIMIT {limit}))"
    )
}

/// The link to make, whatever account it is for.
pub struct LinkToMake<'a> {
    pub token_hash: &'a str,
    /// The link's public id (verification links only; a reset's is empty).
    pub link_id: &'a str,
    pub now_ms: i64,
    /// No new link while the account's last one is younger than this.
    pub interval_ms: i64,
    pub expires_ms: i64,
    /// The hour's budget a link for an account never verified is made within only.
    pub mail: UnprovenMail<'a>,
}

/// A new link for an account, if one is due.
pub(super) struct NewLink<'a> {
    pub kind: OneTimeLink,
    /// SQL over `users u` selecting the account; `?1` is `value`.
    pub account: &'a str,
    pub value: &'a str,
    pub link: LinkToMake<'a>,
}

gatehouse_core::d1_row! {
    struct MadeFor {
        email: Option<String>,
        held: f64,
    }
}

/// The mailbox account `u`'s links count in: its inbox while it is an unverified alias
/// (core::account::Email::inbox), NULL for any other account (the mailbox's own
/// address, a verified account), whose links the mailbox's budget does not hold.
const ALIAS_INBOX: &str = "CASE WHEN u.email_verified_at_ms IS NULL THEN u.inbox END";

/// One batch, the same whether or not an account matches (no enumeration by round
/// trips or latency): if the account exists, its last link of this kind is older than
/// the interval, it got fewer than [`LINKS_PER_WINDOW`] of them in the window and, for
/// an unverified account at an alias, its mailbox's unverified aliases fewer than
/// [`INBOX_LINKS_PER_WINDOW`] together (core::account says why the mailbox's own
/// address and verified accounts are not held), and, for an account never verified,
/// its mail counted within the hour's budget (mail_budget), retire its unused links of
/// this kind and store the new one; read back the address the new link is for, or
/// whether the budget held it.
pub(super) async fn new_link(
    db: &Db,
    what: &'static str,
    new: NewLink<'_>,
) -> Result<NewLinkOutcome, Problem> {
    let link = &new.link;
    let trip = db.trip(Route::Primary, what);
    let table = new.kind.table();
    let args = [
        text(new.value),
        text(link.token_hash),
        num(link.now_ms),
        num(link.interval_ms),
        num(link.expires_ms),
        text(link.link_id),
    ];
    // The account that may get a new link now (?1 value, ?3 now, ?4 interval), and the
    // mailbox its link counts in (an unverified alias's; NULL for any other account).
    // The conditions are range reads of the table's (user_id, created_at_ms) index and,
    // for an unverified alias, of its (inbox, created_at_ms) index (migration 0023):
    // at most a few dozen rows, however many aliases the mailbox has. Links are kept
    // days past their expiry (the maintenance), so the window's are all there.
    let due = format!(
        "FROM users u WHERE {} AND NOT EXISTS (SELECT 1 FROM {table} l \
         WHERE l.user_id = u.id AND l.created_at_ms > ?3 - ?4) AND (SELECT count(*) \
         FROM {table} l WHERE l.user_id = u.id AND l.created_at_ms > ?3 - {LINK_WINDOW_MS}) \
         < {LINKS_PER_WINDOW} AND ({ALIAS_INBOX} IS NULL OR {} < {INBOX_LINKS_PER_WINDOW})",
        new.account,
        inbox_links(table, "u.inbox", "?3", INBOX_LINKS_PER_WINDOW)
    );
    // An unverified account's link is counted in the hour's budget first; it is made
    // only if counted (a verified account's never is: its mail is not held). ?5 the
    // requesting network, bound only with one.
    let mut budget_args = args[..4].to_vec();
    budget_args.extend(link.mail.network.map(|(network, _)| text(network)));
    let due_unverified = format!("EXISTS (SELECT 1 {due} AND u.email_verified_at_ms IS NULL)");
    let placeholders = Placeholders {
        now: "?3",
        by: "?2",
        network: "?5",
    };
    let mut batch: Vec<_> = mail_budget::count(&due_unverified, &link.mail, &placeholders)
        .into_iter()
        .map(|sql| trip.statement(sql, &budget_args))
        .collect();
    let counted = mail_budget::counted("?2");
    let mailable = format!("{due} AND (u.email_verified_at_ms IS NOT NULL OR {counted})");
    let retire = trip.statement(
        format!(
            // Marked used by no request (`used_by`, which a link's own use sets to the
            // request's id: migrations 0008, 0026).
            "UPDATE {table} SET used_at_ms = ?3, used_by = 'superseded' \
             WHERE used_at_ms IS NULL AND user_id IN (SELECT u.id {mailable})"
        ),
        &args[..4],
    );
    let (new_row, params) = new.kind.new_row();
    let insert = trip.statement(
        format!(
            "INSERT INTO {table} {new_row} FROM (SELECT u.id, {ALIAS_INBOX} AS inbox {mailable})"
        ),
        &args[..params],
    );
    // The address the new link is for; else whether the budget held it (the account
    // was due a link, and none was made).
    let made = trip.statement(
        format!(
            "SELECT (SELECT u.email FROM {table} l JOIN users u ON u.id = l.user_id \
             WHERE l.token_hash = ?2) AS email, {due_unverified} AS held"
        ),
        &args[..4],
    );
    batch.extend([retire, insert, made]);
    let last = batch.len() - 1;
    let results = trip.batch(batch).await?;
    let row = rows::<MadeFor>(&results, last, what)?.into_iter().next();
    Ok(match row {
        Some(MadeFor {
            email: Some(email), ..
        }) => NewLinkOutcome::Made(email),
        Some(MadeFor { held, .. }) if held > 0.0 => NewLinkOutcome::Held,
        _ => NewLinkOutcome::NotDue,
    })
}

/// What asking for a new link did (the answer to the caller is the same for all).
pub enum NewLinkOutcome {
    /// Made; mail it to this address.
    Made(String),
    /// The account was due one, but the hour's budget of mail to unproven addresses
    /// had no room (mail_budget): the operator's log says so.
    Held,
    /// No account, or none due (its interval, its hour's links, its mailbox's).
    NotDue,
}

pub enum LinkState {
    /// Unused and unexpired; the id, password hash and address of the account it
    /// belongs to.
    Usable {
        user_id: String,
        password_hash: String,
        email: String,
    },
    Expired,
    /// Unknown, or already used.
    Unusable,
}

gatehouse_core::d1_row! {
    struct LinkRow {
        expires_at_ms: f64,
        used_at_ms: Option<f64>,
        user_id: String,
        password_hash: String,
        email: String,
    }
}

/// What the link with this token hash is now, read on the primary.
pub async fn link_state(
    db: &Db,
    link: OneTimeLink,
    token_hash: &str,
    now_ms: i64,
) -> Result<LinkState, Problem> {
    let trip = db.trip(Route::Primary, "accounts.link_state");
    let statement = trip.statement(
        format!(
            "SELECT l.expires_at_ms, l.used_at_ms, l.user_id, u.password_hash, u.email FROM {} l \
             JOIN users u ON u.id = l.user_id WHERE l.token_hash = ?1",
            link.table()
        ),
        &[text(token_hash)],
    );
    Ok(match trip.first::<LinkRow>(statement).await? {
        Some(l) if l.used_at_ms.is_some() => LinkState::Unusable,
        Some(l) if l.expires_at_ms <= now_ms as f64 => LinkState::Expired,
        Some(l) => LinkState::Usable {
            user_id: l.user_id,
            password_hash: l.password_hash,
            email: l.email,
        },
        None => LinkState::Unusable,
    })
}

gatehouse_core::d1_row! {
    /// A link row's expiry, to tell "expired" from "unknown or used".
    struct Expiry {
        expires_at_ms: f64,
    }
}

/// Whether a link that was not used by this batch is expired (`true`) or unknown or
/// already used (`false`), from the batch's read-back of its unused row (statement `i`).
pub(super) fn unused_link_expired(
    results: &[crate::store::StatementResult],
    i: usize,
    now_ms: i64,
    what: &str,
) -> Result<bool, Problem> {
    Ok(rows::<Expiry>(results, i, what)?
        .first()
        .is_some_and(|link| link.expires_at_ms <= now_ms as f64))
}
