//! `GET /user/verify-email?token=` (the emailed link) and `POST /user/verify-email
//! {token, password}` (the Flashback client's `validateRegistration(token, password)`,
//! or the page's form).
//!
//! The GET page only shows a form: mail scanners and link previews fetch links
//! without a person, so a GET must neither verify nor burn the link. Verifying takes
//! the link *and* the account's password (core::account::verification says why: a
//! sign-up with someone else's address must never end verified). The link is looked
//! up first, so a made-up or used token costs no KDF run; a wrong password leaves the
//! link usable. A form gets an HTML answer, a JSON body JSON. Links are single use and
//! expire. A verification that makes the account a MEMBER of an organization by its
//! domain is told to that organization's OWNERs.

use super::login::{count_attempt, Counted};
use super::one_time_link::{self, Titles};
use super::{error, new_id};
use crate::email::send_owners_notice_later;
use crate::store::accounts::{self, Joined, LinkState, OneTimeLink, Verification};
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::account::notices::Notice;
use gatehouse_core::account::verification::{
    confirm_form, confirm_page, expired_link, page as html_page, token_hash, unusable_link,
};
use gatehouse_core::account::{AccountError, ErrorCode};
use gatehouse_core::crypto::password;
use gatehouse_core::http::problem::Problem;
use gatehouse_core::http::query::query_param;
use gatehouse_core::http::rate_limit::client_network;
use worker::{Env, Request, Response};

/// GET: the confirmation page (no D1 access at all).
pub async fn page(req: Request, _env: &Env) -> Result<Response, Problem> {
    // One that does not decode is as invalid as none (`.ok()`): the same page says so.
    let token = query_param(&req.inner().url(), "token")
        .ok()
        .flatten()
        .unwrap_or_default();
    Ok(if token.is_empty() {
        http::html(
            400,
            html_page(
                "Invalid link",
                "<p>This link is not valid or was already used.</p>",
            ),
        )
    } else {
        http::html(200, confirm_page(&token))
    })
}

const TITLES: Titles = Titles {
    done: "Email verified",
    refused: |code| match code {
        ErrorCode::LinkExpired => "Link expired",
        ErrorCode::InvalidLink => "Invalid link",
        _ => "Email not verified",
    },
};

pub async fn api(
    mut req: Request,
    env: &Env,
    db: &Db,
    ctx: &worker::Context,
) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let network = client_network(&crate::rate_limit::client_ip(&req));
    let post = match one_time_link::read(&mut req, &config).await? {
        Ok(post) => post,
        Err(refused) => return Ok(one_time_link::answer(true, TITLES, Err(refused))),
    };
    let outcome = match post.field("token") {
        Ok(token) => verify(db, &post, &token, &network).await?.map(|verified| {
            if let Some(join) = verified {
                let notice = Notice::MemberJoined {
                    org_id: &join.org.org_id,
                    user_id: &join.user_id,
                    email: &join.email,
                };
                let owners = &join.org.owners;
                send_owners_notice_later(
                    ctx,
                    env,
                    &config,
                    owners,
                    &join.email,
                    &notice,
                    join.at_ms,
                );
            }
        }),
        // The page's form always holds a token: without one it is no link at all.
        Err(_) if post.is_form => Err(unusable_link()),
        Err(e) => return Ok(error(&e)),
    };
    // A wrong or missing password on the page: the form again, the error under the
    // field, the link still usable (a dead link gets the plain refusal page).
    if let (true, Ok(token), Err(e)) = (post.is_form, post.field("token"), &outcome) {
        if matches!(
            e.code,
            ErrorCode::InvalidCredentials | ErrorCode::InvalidInput
        ) {
            let body = confirm_form(&token, Some(&e.message));
            return Ok(http::html(
                e.status(),
                html_page((TITLES.refused)(e.code), &body),
            ));
        }
    }
    let message = "Your email address is verified. You can close this page and sign in.";
    Ok(one_time_link::answer(
        post.is_form,
        TITLES,
        outcome.map(|()| message),
    ))
}

/// A verification that made the account a MEMBER of an organization by its domain.
struct Join {
    org: Joined,
    user_id: String,
    email: String,
    at_ms: i64,
}

/// The link first (no KDF for a dead one), then the password — counted against the
/// account as a login's is, so a link's holder guesses no more than login allows —,
/// then the one batch.
async fn verify(
    db: &Db,
    post: &one_time_link::LinkPost,
    token: &str,
    network: &str,
) -> Result<Result<Option<Join>, AccountError>, Problem> {
    let now_ms = crate::clock::now_ms();
    let hash = token_hash(token);
    let (stored, email, user_id) =
        match accounts::link_state(db, OneTimeLink::Verification, &hash, now_ms).await? {
            LinkState::Usable {
                password_hash,
                email,
                user_id,
            } => (password_hash, email, user_id),
            LinkState::Expired => return Ok(Err(expired_link())),
            LinkState::Unusable => return Ok(Err(unusable_link())),
        };
    let given = match post.field("password") {
        Ok(p) => p,
        Err(_) => {
            return Ok(Err(AccountError::invalid_input(
                "password is required: the one chosen at sign-up",
            )))
        }
    };
    // The batch that uses the link finds it by this request (store::accounts); made
    // before the attempt is counted, so that nothing can fail between the two.
    let request_id = new_id()?;
    // Counted before the check (core::account::login_guard::admitted), with login's
    // counters: ten wrong passwords from a network lock it for verifying and signing in
    // alike. Only that per-network budget refuses here, never the account's ceiling: a
    // stranger's wrong logins from many networks must not stop the owner verifying.
    if let Counted::Refused {
        retry_after_seconds,
    } = count_attempt(db, &email, network, now_ms, true).await?
    {
        return Err(Problem::RateLimited {
            retry_after_seconds,
        });
    }
    if !password::verify(given.as_bytes(), &stored).unwrap_or(false) {
        return Ok(Err(AccountError::new(
            ErrorCode::InvalidCredentials,
            "This is not the password chosen at sign-up",
        )));
    }
    Ok(
        match accounts::verify_email(db, &hash, &request_id, &stored, &user_id, network, now_ms)
            .await?
        {
            Verification::Verified { joined } => Ok(joined.map(|org| Join {
                org,
                user_id,
                email,
                at_ms: now_ms,
            })),
            Verification::Expired => Err(expired_link()),
            Verification::Invalid => Err(unusable_link()),
        },
    )
}
