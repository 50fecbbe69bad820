//! `GET /user/verify-email?token=` (the emailed link: a small HTML page) and
//! `POST /user/verify-email {"token"}` (JSON). Links are single use and expire.

use super::account::error;
use crate::store::accounts::{self, Verification};
use crate::{config, http};
use gatehouse_core::account::verification::token_hash;
use gatehouse_core::account::{string_field, AccountError, ErrorCode};
use gatehouse_core::problem::Problem;
use gatehouse_core::query::query_param;
use serde_json::json;
use worker::{Env, Request, Response};

async fn verify(env: &Env, token: &str) -> Result<Verification, Problem> {
    config::require(env)?;
    let now_ms = worker::Date::now().as_millis() as i64;
    accounts::verify_email(env, &token_hash(token), now_ms).await
}

pub async fn page(req: Request, env: &Env) -> Result<Response, Problem> {
    let token = query_param(&req.inner().url(), "token").unwrap_or_default();
    let outcome = if token.is_empty() {
        Verification::Invalid
    } else {
        verify(env, &token).await?
    };
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
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{text}</p></body></html>"
    );
    Ok(http::with_headers(status, html, "text/html; charset=utf-8"))
}

pub async fn api(mut req: Request, env: &Env) -> Result<Response, Problem> {
    let body = http::read_body(&mut req).await?;
    let token = match string_field(&body, "token") {
        Ok(t) => t,
        Err(e) => return Ok(error(&e)),
    };
    Ok(match verify(env, &token).await? {
        Verification::Verified => {
            http::json(200, &json!({"success": true, "message": "Email verified"}))
        }
        Verification::Expired => error(&AccountError::new(
            ErrorCode::LinkExpired,
            "This verification link has expired",
        )),
        Verification::Invalid => error(&AccountError::new(
            ErrorCode::InvalidLink,
            "This verification link is not valid or was already used",
        )),
    })
}
