//! `POST /user/register` — sign-up: user, organization, free trial, verification link
//! and sign-in in one atomic D1 batch (after one read batch), then the verification
//! email, sent after the response (`wait_until`).
//!
//! Every sign-up founds an organization of its own, which only *intends* to claim its
//! domain (`pending_domain`); the claim, or the move into the organization that
//! claimed the domain first, happens when the founder verifies
//! (store::accounts::verify_email). So a sign-up at a domain one cannot read mail at
//! captures nobody, joins nobody, and answers alike whether the domain is a
//! customer's, a banned one's or nobody's. Only a domain an operator blocked (`admin
//! block-domain`, with its subdomains) is refused, and said so.

use super::{
    error, mail_network, new_id, new_session, session_response, unproven_mail, SessionUser,
};
use crate::email::{send_verification_later, skip_mail};
use crate::store::accounts::{self, CreateOutcome, NewAccount, NewOrg};
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::account::signup::{pending_domain, SignUp};
use gatehouse_core::account::verification::{new_token, VERIFICATION_TTL_MS};
use gatehouse_core::account::{AccountError, ErrorCode};
use gatehouse_core::crypto::password;
use gatehouse_core::http::problem::Problem;
use worker::{Context, Env, Request, Response};

const DAY_MS: i64 = 24 * 3600 * 1000;

pub async fn handle(
    mut req: Request,
    env: &Env,
    db: &Db,
    ctx: &Context,
) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let body = http::read_body(&mut req).await?;
    let signup = match SignUp::parse(&body) {
        Ok(s) => s,
        Err(e) => return Ok(error(&e)),
    };
    let domain = signup.org_domain();
    let context = accounts::signup_context(
        db,
        signup.email.as_str(),
        domain.as_deref(),
        &signup.email.blockable_domains(),
    )
    .await?;
    // A block is public and costs no password hash: a script at a blocked domain
    // spends none of the worker's CPU on it. Every other answer comes after the hash,
    // so whether an account exists is not told by the time it takes.
    if context.blocked {
        return Ok(error(&domain_blocked()));
    }
    let password_hash = password::hash(
        signup.password.expose().as_bytes(),
        config.password_kdf,
        config.password_kdf_iterations,
    )
    .map_err(|_| Problem::Internal)?;
    if let Some(user) = context.user {
        return Ok(error(&email_exists(user.email_verified_at_ms.is_some())));
    }
    let pending_domain = pending_domain(&signup, domain.as_deref(), context.free_mail);
    let now_ms = crate::clock::now_ms();
    let user_id = new_id()?;
    let org_id = new_id()?;
    let subscription_id = new_id()?;
    let (link_token, link_hash) = new_token().map_err(|_| Problem::Internal)?;
    let verification_id = new_id()?;
    let session = new_session(&config, &user_id, None, now_ms)?;
    let inbox = signup.email.inbox();
    let network = mail_network(&req, &config);
    let account = NewAccount {
        user_id: &user_id,
        email: signup.email.as_str(),
        inbox: inbox.as_deref(),
        password_hash: &password_hash,
        first_name: &signup.first_name,
        last_name: &signup.last_name,
        org_id: &org_id,
        new_org: NewOrg {
            name: &signup.company_name,
            pending_domain: pending_domain.as_deref(),
            subscription_id: &subscription_id,
            trial_ends_ms: now_ms + i64::from(config.trial_days) * DAY_MS,
        },
        verification_hash: &link_hash,
        verification_id: &verification_id,
        is_business: signup.is_business,
        session_id: &session.id,
        refresh_hash: &session.refresh_hash,
        now_ms,
        verification_expires_ms: now_ms + VERIFICATION_TTL_MS,
        refresh_expires_ms: session.expires_ms,
        mail: unproven_mail(&config, network.as_deref()),
    };
    match accounts::create_account(db, &account).await? {
        // The race loser's rival has just signed up and is not verified yet.
        CreateOutcome::EmailTaken => return Ok(error(&email_exists(false))),
        CreateOutcome::Created { held: None } => {
            send_verification_later(ctx, env, &config, signup.email.as_str(), &link_token)
        }
        // An alias whose mailbox has had its links of the hour, or the deployment's
        // mail to unproven addresses spent: the answer is the same (no enumeration);
        // the account asks again with resend-verification later.
        CreateOutcome::Created { held: Some(why) } => skip_mail("verification", why),
    }
    let user = SessionUser {
        id: &user_id,
        email: signup.email.as_str(),
        name: signup.full_name(),
        org_id: &org_id,
        role: "OWNER",
        image_url: None,
        email_verified: false,
        verification_token_id: Some(&verification_id),
    };
    Ok(session_response(201, &config, &user, &session, now_ms))
}

/// An operator blocked sign-ups at the address's domain or a parent of it (`admin
/// block-domain`): said plainly, since nothing about an account is told by it.
fn domain_blocked() -> AccountError {
    AccountError::new(
        ErrorCode::Forbidden,
        "Sign-ups with an address at this email domain are not accepted",
    )
}

fn email_exists(verified: bool) -> AccountError {
    if verified {
        AccountError::new(
            ErrorCode::EmailExistsActive,
            "An account with this email already exists",
        )
    } else {
        AccountError::new(
            ErrorCode::EmailExistsInactive,
            "An account with this email exists but is not verified yet; check your inbox or ask for a new link",
        )
    }
}
