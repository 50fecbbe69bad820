//! Sign-up: what it reads before deciding, and the one atomic batch that creates the
//! account.

use super::insert_session;
use super::links::inbox_links;
use super::mail_budget::{self, Placeholders, UnprovenMail};
use crate::store::{num, opt_text, rows, storage_failure, text, Db, Route};
use gatehouse_core::account::INBOX_LINKS_PER_WINDOW;
use gatehouse_core::http::problem::Problem;

gatehouse_core::d1_row! {
    pub struct ExistingUser {
        pub email_verified_at_ms: Option<f64>,
    }
}

/// What sign-up reads before deciding: the user with this email, whether the
/// organization's domain is a free-mail provider's, and whether an operator blocked
/// sign-ups at the address's domain (migration 0025). Not whether an organization
/// claimed the domain: a sign-up founds its own either way
/// (core::account::signup::pending_domain).
pub struct SignupContext {
    pub user: Option<ExistingUser>,
    pub free_mail: bool,
    pub blocked: bool,
}

gatehouse_core::d1_row! {
    struct DomainStanding {
        free: i64,
        blocked: i64,
    }
}

/// One read batch (see [`SignupContext`]). `blockable`: the names a block of the
/// address's domain may have (core's `Email::blockable_domains`), each a primary-key
/// lookup.
pub async fn signup_context(
    db: &Db,
    email: &str,
    domain: Option<&str>,
    blockable: &[&str],
) -> Result<SignupContext, Problem> {
    let what = "accounts.signup_context";
    let db = db.trip(Route::Replica, what);
    let user = db.statement(
        "SELECT email_verified_at_ms FROM users WHERE email = ?1",
        &[text(email)],
    );
    let blockable = serde_json::to_string(blockable).map_err(|_| Problem::Internal)?;
    let standing = db.statement(
        "SELECT EXISTS (SELECT 1 FROM free_mail_domains WHERE domain = ?1) AS free, \
         EXISTS (SELECT 1 FROM blocked_domains WHERE domain IN \
         (SELECT value FROM json_each(?2))) AS blocked",
        &[opt_text(domain), text(&blockable)],
    );
    let results = db.batch(vec![user, standing]).await?;
    let standing = rows::<DomainStanding>(&results, 1, what)?;
    let standing = standing.first();
    Ok(SignupContext {
        user: rows::<ExistingUser>(&results, 0, what)?.into_iter().next(),
        free_mail: standing.is_some_and(|d| d.free != 0),
        blocked: standing.is_some_and(|d| d.blocked != 0),
    })
}

pub struct NewAccount<'a> {
    pub user_id: &'a str,
    pub email: &'a str,
    /// The mailbox `email` is an alias of (core::account::Email::inbox), if it is one.
    pub inbox: Option<&'a str>,
    pub password_hash: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    /// The organization this sign-up founds (with a trial), the account its OWNER.
    pub org_id: &'a str,
    pub new_org: NewOrg<'a>,
    pub verification_hash: &'a str,
    /// The link's public id (`verificationTokenId`).
    pub verification_id: &'a str,
    pub is_business: bool,
    pub session_id: &'a str,
    pub refresh_hash: &'a str,
    pub now_ms: i64,
    pub verification_expires_ms: i64,
    pub refresh_expires_ms: i64,
    /// The hour's budget its verification mail is counted in (mail_budget).
    pub mail: UnprovenMail<'a>,
}

pub struct NewOrg<'a> {
    pub name: &'a str,
    /// The domain it claims once its founder's email is verified, or whose claiming
    /// organization the founder then joins (`verify_email`).
    pub pending_domain: Option<&'a str>,
    pub subscription_id: &'a str,
    pub trial_ends_ms: i64,
}

pub enum CreateOutcome {
    /// Created; its verification mail goes unless `held` says why not: `inbox`, the
    /// address is an alias whose mailbox has had its links of the window
    /// (INBOX_LINKS_PER_WINDOW); `budget`, the hour's mail to unproven addresses has no
    /// room, the deployment's or the network's (mail_budget).
    Created { held: Option<&'static str> },
    /// The unique email index refused the user: someone else signed up first.
    EmailTaken,
}

/// One atomic batch: organization (+ trial), user, membership, verification link,
/// sign-in; then its mail counted in the deployment's budget, unless the address is an
/// alias whose mailbox's unverified aliases had their verification links of the window
/// (this one included); then whether either held it. Any failure leaves nothing behind.
pub async fn create_account(db: &Db, a: &NewAccount<'_>) -> Result<CreateOutcome, Problem> {
    let what = "accounts.create_account";
    let db = db.trip(Route::Primary, what);
    let org = &a.new_org;
    let mut batch = vec![
        db.statement(
            "INSERT INTO organizations (id, name, pending_domain, created_at_ms) VALUES (?1, ?2, \
             ?3, ?4)",
            &[
                text(a.org_id),
                text(org.name),
                opt_text(org.pending_domain),
                num(a.now_ms),
            ],
        ),
        db.statement(
            "INSERT INTO subscriptions (id, org_id, plan, starts_at_ms, ends_at_ms) VALUES (?1, \
             ?2, 'FREE_TRIAL', ?3, ?4)",
            &[
                text(org.subscription_id),
                text(a.org_id),
                num(a.now_ms),
                num(org.trial_ends_ms),
            ],
        ),
    ];
    batch.push(db.statement(
        "INSERT INTO users (id, email, password_hash, first_name, last_name, created_at_ms, \
         is_business, inbox) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &[
            text(a.user_id),
            text(a.email),
            text(a.password_hash),
            text(a.first_name),
            text(a.last_name),
            num(a.now_ms),
            num(i64::from(a.is_business)),
            opt_text(a.inbox),
        ],
    ));
    batch.push(db.statement(
        "INSERT INTO org_members (org_id, user_id, role, created_at_ms) \
         VALUES (?1, ?2, 'OWNER', ?3)",
        &[text(a.org_id), text(a.user_id), num(a.now_ms)],
    ));
    batch.push(db.statement(
        "INSERT INTO email_verifications (token_hash, user_id, created_at_ms, expires_at_ms, \
         id, inbox) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &[
            text(a.verification_hash),
            text(a.user_id),
            num(a.now_ms),
            num(a.verification_expires_ms),
            text(a.verification_id),
            opt_text(a.inbox),
        ],
    ));
    batch.push(insert_session(
        &db,
        a.session_id,
        a.session_id,
        a.user_id,
        a.refresh_hash,
        a.now_ms,
        a.refresh_expires_ms,
        None,
        None,
    ));
    // ?1 the alias's mailbox (NULL: not an alias), ?2 now, ?3 the link's token hash, ?4
    // the requesting network (bound only with one).
    let inbox_room = format!(
        "(?1 IS NULL OR {} <= {INBOX_LINKS_PER_WINDOW})",
        inbox_links(
            "email_verifications",
            "?1",
            "?2",
            INBOX_LINKS_PER_WINDOW + 1
        )
    );
    let args = [opt_text(a.inbox), num(a.now_ms), text(a.verification_hash)];
    let mut budget_args = args.to_vec();
    budget_args.extend(a.mail.network.map(|(network, _)| text(network)));
    let placeholders = Placeholders {
        now: "?2",
        by: "?3",
        network: "?4",
    };
    for sql in mail_budget::count(&inbox_room, &a.mail, &placeholders) {
        batch.push(db.statement(sql, &budget_args));
    }
    // Whether the mail was counted, else why not (the mailbox's count read only then).
    batch.push(db.statement(
        format!(
            "SELECT CASE WHEN {} THEN 'counted' WHEN {inbox_room} THEN 'budget' \
             ELSE 'inbox' END AS held",
            mail_budget::counted("?3")
        ),
        &args,
    ));
    let held = batch.len() - 1;
    match db.try_batch(batch).await {
        Ok(results) => {
            let row = rows::<serde_json::Value>(&results, held, what)?;
            let held = match row.first().and_then(|r| r["held"].as_str()) {
                Some("counted") => None,
                Some("budget") => Some("budget"),
                _ => Some("inbox"),
            };
            Ok(CreateOutcome::Created { held })
        }
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
