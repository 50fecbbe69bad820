//! `GET /user/verify-email?token=` (the emailed link) and `POST /user/verify-email`.
//!
//! The GET page only shows a button: mail scanners and link previews fetch links
//! without a person, so a GET must neither verify nor burn the link. The button posts
//! the token as a form and gets an HTML answer; a JSON body gets JSON. Links are
//! single use and expire.

use super::error;
use crate::store::accounts::{self, Verification};
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::account::string_field;
use gatehouse_core::account::verification::{
    confirm_page, expired_link, page as html_page, token_hash, unusable_link,
};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::http::query::{form_param, query_param};
use serde_json::json;
use worker::{Env, Request, Response};

async fn verify(env: &Env, db: &Db, token: &str) -> Result<Verification, Problem> {
    config::require(env)?;
    let now_ms = worker::Date::now().as_millis() as i64;
    accounts::verify_email(db, &token_hash(token), now_ms).await
}

/// GET: the confirmation page (no D1 access at all).
pub async fn page(req: Request, _env: &Env) -> Result<Response, Problem> {
    let token = query_param(&req.inner().url(), "token").unwrap_or_default();
    Ok(if token.is_empty() {
        outcome_page(Verification::Invalid)
    } else {
        http::html(200, confirm_page(&token))
    })
}

fn outcome_page(outcome: Verification) -> Response {
    let (status, title, text) = match outcome {
        Verification::Verified => (
            200,
            "Email verified",
            "Your email address is verified. You can close this page and sign in.",
        ),
        Verification::Expired => (
            400,
            "Link expired",
            "This link has expired. Ask for a new one from the sign-in page.",
        ),
        Verification::Invalid => (
            400,
            "Invalid link",
            "This link is not valid or was already used.",
        ),
    };
    http::html(status, html_page(title, &format!("<p>{text}</p>")))
}

pub async fn api(mut req: Request, env: &Env, db: &Db) -> Result<Response, Problem> {
    let is_form = http::is_form(&req);
    let body = http::read_body(&mut req).await?;
    if is_form {
        // The confirmation page's button.
        let token = std::str::from_utf8(&body)
            .ok()
            .and_then(|form| form_param(form, "token"))
            .unwrap_or_default();
        if token.is_empty() {
            return Ok(outcome_page(Verification::Invalid));
        }
        return Ok(outcome_page(verify(env, db, &token).await?));
    }
    let token = match string_field(&body, "token") {
        Ok(t) => t,
        Err(e) => return Ok(error(&e)),
    };
    Ok(match verify(env, db, &token).await? {
        Verification::Verified => {
            http::json(200, &json!({"success": true, "message": "Email verified"}))
        }
        Verification::Expired => error(&expired_link()),
        Verification::Invalid => error(&unusable_link()),
    })
}
