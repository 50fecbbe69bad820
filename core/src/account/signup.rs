//! `POST /user/register`: the request, and which organization the new user belongs to.

use super::email::is_domain;
use super::{AccountError, Email, NewPassword};
use serde_json::Value;

#[derive(Debug)]
pub struct SignUp {
    pub email: Email,
    pub password: NewPassword,
    pub first_name: String,
    pub last_name: String,
    pub company_name: String,
    pub company_website: Option<String>,
    pub is_business: bool,
}

fn required_text(body: &Value, name: &str) -> Result<String, AccountError> {
    body.get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            AccountError::invalid_input(format!("{name} is required and must be a string"))
        })
}

fn text_field(body: &Value, name: &str, max: usize) -> Result<String, AccountError> {
    let value = body.get(name).and_then(Value::as_str).ok_or_else(|| {
        AccountError::invalid_input(format!("{name} is required and must be a string"))
    })?;
    let len = value.chars().count();
    if value.trim().is_empty() || len > max || value.chars().any(char::is_control) {
        return Err(AccountError::invalid_input(format!(
            "{name} must be 1 to {max} characters, without control characters"
        )));
    }
    Ok(value.trim().to_owned())
}

/// What `POST /user/register` takes, for the answers that describe it.
pub const SIGN_UP_SHAPE: &str = r#"{"email": "…", "password": "…", "firstName": "…", "lastName": "…", "isBusiness": true or false, "companyName": "…" (required when isBusiness is true), "companyWebsite"?: "…"}"#;

impl SignUp {
    /// Every problem of the request at once (one `INVALID_INPUT` naming each field), so
    /// a form can show them all; a password that is only too weak is `WEAK_PASSWORD`
    /// as before. A personal account (`isBusiness: false`) needs no `companyName`: its
    /// organization is named after the person.
    pub fn parse(body: &[u8]) -> Result<SignUp, AccountError> {
        let body = Value::Object(super::json_object(body, SIGN_UP_SHAPE)?);
        let mut problems: Vec<String> = Vec::new();
        let mut keep = |result: Result<String, AccountError>| {
            result.map_err(|e| problems.push(e.message)).ok()
        };
        let raw_email = keep(required_text(&body, "email"));
        let raw_password = keep(required_text(&body, "password"));
        let first_name = keep(text_field(&body, "firstName", 100));
        let last_name = keep(text_field(&body, "lastName", 100));
        let is_business = match body.get("isBusiness").and_then(Value::as_bool) {
            Some(b) => Some(b),
            None => {
                problems.push("isBusiness is required and must be a boolean".to_owned());
                None
            }
        };
        let company_name = match body.get("companyName") {
            None | Some(Value::Null) if is_business != Some(true) => None,
            Some(Value::String(s)) if s.trim().is_empty() && is_business == Some(false) => None,
            _ => match text_field(&body, "companyName", 200) {
                Ok(name) => Some(name),
                Err(e) => {
                    problems.push(format!("{} (required when isBusiness is true)", e.message));
                    None
                }
            },
        };
        let company_website = match body.get("companyWebsite") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => website_host(s).map_err(|e| problems.push(e.message)).ok(),
            Some(_) => {
                problems.push("companyWebsite must be a string".to_owned());
                None
            }
        };
        let email = raw_email.and_then(|raw| {
            Email::parse(&raw)
                .map_err(|e| problems.push(e.message))
                .ok()
        });
        let mut weak = None;
        let password = raw_password.and_then(|raw| {
            NewPassword::parse(&raw)
                .map_err(|e| match e.code {
                    super::ErrorCode::WeakPassword => weak = Some(e),
                    _ => problems.push(e.message),
                })
                .ok()
        });
        match (email, password, first_name, last_name, is_business) {
            (Some(email), Some(password), Some(first_name), Some(last_name), Some(is_business))
                if problems.is_empty() =>
            {
                let company_name =
                    company_name.unwrap_or_else(|| format!("{first_name} {last_name}"));
                Ok(SignUp {
                    email,
                    password,
                    first_name,
                    last_name,
                    company_name,
                    company_website,
                    is_business,
                })
            }
            _ if problems.is_empty() => Err(weak.unwrap_or_else(|| {
                AccountError::invalid_input(format!("expected {SIGN_UP_SHAPE}"))
            })),
            _ => {
                problems.extend(weak.map(|w| w.message));
                Err(AccountError::invalid_input(problems.join("; ")))
            }
        }
    }

    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// The domain that may define this user's shared organization: for business
    /// accounts the website's host, else the email's domain. Whether it is a
    /// free-mail domain (which never does) is data in D1 (`free_mail_domains`), so
    /// [`pending_domain`] is told.
    pub fn org_domain(&self) -> Option<String> {
        if !self.is_business {
            return None;
        }
        Some(
            self.company_website
                .clone()
                .unwrap_or_else(|| self.email.domain().to_owned()),
        )
    }
}

/// The lowercase host of a company website, without `www.`. A missing scheme is
/// taken as https (people type `acme.com`).
pub fn website_host(raw: &str) -> Result<String, AccountError> {
    let bad =
        || AccountError::invalid_input("companyWebsite must be a URL like https://example.com");
    let raw = raw.trim();
    if raw.len() > 2048 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let rest = match raw.split_once("://") {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            rest
        }
        Some(_) => return Err(bad()),
        None => raw,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(bad());
    }
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => host,
        Some(_) => return Err(bad()),
        None => authority,
    }
    .to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_owned();
    if !is_domain(&host) {
        return Err(bad());
    }
    Ok(host)
}

/// The domain a sign-up's new organization holds as pending: the sign-up's domain
/// (`org_domain`) when the email is at it and it is no free-mail provider's. Every
/// sign-up founds an organization of its own, whether an organization claimed the
/// domain already or not, banned or not: the claim, or the move into the organization
/// that claimed it first, happens when the founder verifies
/// (store::accounts::verify_email). An address nobody proved joins nobody, so a
/// sign-up neither tells a stranger which domains are customers (or banned) nor adds
/// members to a company's list that no mailbox stands behind.
pub fn pending_domain(signup: &SignUp, domain: Option<&str>, free_mail: bool) -> Option<String> {
    domain
        .filter(|d| !free_mail && *d == signup.email.domain())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests;
