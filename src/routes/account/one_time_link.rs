//! What the two emailed-link endpoints share (`POST /user/verify-email`, `POST
//! /user/reset-password`): a token and a password, sent as JSON by API clients or as
//! the link page's form (answered with an HTML page), posts from other sites' pages
//! refused (core::http::form_origin), and one way to answer.

use super::error;
use crate::http;
use gatehouse_core::account::verification::{html_escape, page};
use gatehouse_core::account::{string_field, AccountError, ErrorCode};
use gatehouse_core::config::Config;
use gatehouse_core::http::form_origin::{cross_site, sendable_cross_site};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::http::query::{form_param, Undecodable};
use serde_json::json;
use worker::{Request, Response};

/// A link endpoint's request body, JSON or the page's form.
pub struct LinkPost {
    pub is_form: bool,
    body: Vec<u8>,
}

impl LinkPost {
    /// A required, non-empty string field.
    pub fn field(&self, name: &str) -> Result<String, AccountError> {
        if !self.is_form {
            return string_field(&self.body, name);
        }
        match form_param(&String::from_utf8_lossy(&self.body), name) {
            Ok(Some(value)) if !value.is_empty() => Ok(value),
            Ok(_) => Err(AccountError::invalid_input(format!("{name} is required"))),
            Err(Undecodable) => Err(AccountError::invalid_input(format!(
                "{name} is not percent-encoded UTF-8"
            ))),
        }
    }
}

/// Reads the body. `Err`: a post from another site's page (403 `FORBIDDEN`, answered
/// as a page), refused before anything is looked up — the form, and any body such a
/// page can send without a preflight (`text/plain` holding JSON included), whatever
/// it holds.
pub async fn read(
    req: &mut Request,
    config: &Config,
) -> Result<Result<LinkPost, AccountError>, Problem> {
    let is_form = http::is_form(req);
    let header = |name| req.headers().get(name).ok().flatten();
    if sendable_cross_site(header("content-type").as_deref())
        && cross_site(
            header("origin").as_deref(),
            header("sec-fetch-site").as_deref(),
            &req.inner().url(),
            &config.public_url,
        )
    {
        return Ok(Err(AccountError::new(
            ErrorCode::Forbidden,
            "This form can only be sent from its own page",
        )));
    }
    let body = http::read_body(req).await?;
    Ok(Ok(LinkPost { is_form, body }))
}

/// How a link endpoint's pages are titled: on success, and for each refusal.
pub struct Titles {
    pub done: &'static str,
    pub refused: fn(ErrorCode) -> &'static str,
}

/// The answer: `{success, message}` or the refusal as JSON; or, to a form, an HTML
/// page with the same message and status.
pub fn answer(is_form: bool, titles: Titles, outcome: Result<&str, AccountError>) -> Response {
    match (outcome, is_form) {
        (Ok(message), false) => http::json(200, &json!({"success": true, "message": message})),
        (Ok(message), true) => http::html(200, page(titles.done, &paragraph(message))),
        (Err(e), false) => error(&e),
        (Err(e), true) => {
            let title = (titles.refused)(e.code);
            http::html(e.status(), page(title, &paragraph(&e.message)))
        }
    }
}

fn paragraph(text: &str) -> String {
    format!("<p>{}</p>", html_escape(text))
}
