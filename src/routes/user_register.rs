//! `POST /user/register` — sign-up: user, organization (or membership), free trial,
//! verification link and refresh session in one atomic D1 batch (after one read
//! batch), then the verification email, sent after the response (`wait_until`).

use super::account::{error, new_id, new_session, session_response, SessionUser};
use crate::email::send_verification_later;
use crate::store::accounts::{self, CreateOutcome, NewAccount, NewOrg};
use crate::{config, http};
use gatehouse_core::account::signup::{plan_org, ExistingOrg, OrgPlan, SignUp};
use gatehouse_core::account::verification::{new_token, VERIFICATION_TTL_MS};
use gatehouse_core::account::{AccountError, ErrorCode};
use gatehouse_core::password;
use gatehouse_core::problem::Problem;
use worker::{Context, Env, Request, Response};

const DAY_MS: i64 = 24 * 3600 * 1000;

pub async fn handle(mut req: Request, env: &Env, ctx: &Context) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let body = http::read_body(&mut req).await?;
    let signup = match SignUp::parse(&body) {
        Ok(s) => s,
        Err(e) => return Ok(error(&e)),
    };
    let password_hash = password::hash(
        signup.password.expose().as_bytes(),
        config.password_kdf,
        config.password_kdf_iterations,
    )
    .map_err(|_| Problem::Internal)?;
    let domain = signup.org_domain();

    // A concurrent sign-up can create the domain's organization between our read and
    // our write; then the unique index refuses ours and one more pass joins it.
    for _attempt in 0..2 {
        let (user, org) =
            accounts::signup_context(env, signup.email.as_str(), domain.as_deref()).await?;
        if let Some(user) = user {
            return Ok(error(&email_exists(user.email_verified_at_ms.is_some())));
        }
        let existing = org.map(|o| ExistingOrg {
            id: o.id,
            banned: o.banned != 0,
        });
        let plan = match plan_org(&signup, domain.as_deref(), existing.as_ref()) {
            Ok(plan) => plan,
            Err(e) => return Ok(error(&e)),
        };
        let now_ms = worker::Date::now().as_millis() as i64;
        let user_id = new_id()?;
        let (org_id, new_org_domain, role) = match &plan {
            OrgPlan::Join { org_id } => (org_id.clone(), None, "MEMBER"),
            OrgPlan::Create { domain } => (new_id()?, Some(domain.clone()), "OWNER"),
        };
        let subscription_id = new_id()?;
        let (link_token, link_hash) = new_token().map_err(|_| Problem::Internal)?;
        let session = new_session(&config, &user_id, now_ms)?;
        let account = NewAccount {
            user_id: &user_id,
            email: signup.email.as_str(),
            password_hash: &password_hash,
            first_name: &signup.first_name,
            last_name: &signup.last_name,
            org_id: &org_id,
            new_org: new_org_domain.as_ref().map(|domain| NewOrg {
                name: &signup.company_name,
                domain: domain.as_deref(),
                subscription_id: &subscription_id,
                trial_ends_ms: now_ms + i64::from(config.trial_days) * DAY_MS,
            }),
            role,
            verification_hash: &link_hash,
            session_id: &session.id,
            refresh_hash: &session.refresh_hash,
            now_ms,
            verification_expires_ms: now_ms + VERIFICATION_TTL_MS,
            refresh_expires_ms: session.expires_ms,
        };
        match accounts::create_account(env, &account).await? {
            CreateOutcome::DomainTaken => continue,
            // The race loser's rival has just signed up and is not verified yet.
            CreateOutcome::EmailTaken => return Ok(error(&email_exists(false))),
            CreateOutcome::Created => {}
        }

        send_verification_later(
            ctx,
            env,
            &config,
            signup.email.as_str(),
            &signup.full_name(),
            &link_token,
        );
        let user = SessionUser {
            id: &user_id,
            email: signup.email.as_str(),
            name: signup.full_name(),
            org_id: &org_id,
            image_url: None,
            email_verified: false,
        };
        return Ok(session_response(201, &config, &user, &session, now_ms));
    }
    worker::console_error!("sign-up: organization for the domain kept changing");
    Err(Problem::Internal)
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
