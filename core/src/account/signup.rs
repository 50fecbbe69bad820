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
    /// [`plan_org`] is told.
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

/// The organization that has claimed the sign-up's domain.
pub struct ExistingOrg {
    pub id: String,
    pub banned: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum OrgPlan {
    /// Join as a plain member (role USER): the email proves the user belongs to the
    /// domain the organization has claimed.
    Join { org_id: String },
    /// A new organization with this user as OWNER and a free trial. `claim` is the
    /// domain it will claim once the founder's email is verified (set only when the
    /// email is at that domain and nobody has claimed it): an unverified sign-up
    /// claims nothing, so it cannot capture the colleagues who come after it.
    Create { claim: Option<String> },
}

/// Where a sign-up lands, given the domain it may stand for, the organization that
/// has claimed that domain (if any) and whether the domain is a free-mail provider's.
pub fn plan_org(
    signup: &SignUp,
    domain: Option<&str>,
    claimed_by: Option<&ExistingOrg>,
    free_mail: bool,
) -> Result<OrgPlan, AccountError> {
    let domain = domain.filter(|_| !free_mail);
    let owns_domain = domain.is_some_and(|d| d == signup.email.domain());
    match claimed_by.filter(|_| domain.is_some()) {
        Some(org) if org.banned && owns_domain => Err(AccountError::new(
            super::ErrorCode::OrgBanned,
            "The organization for this domain is banned",
        )),
        Some(org) if owns_domain => Ok(OrgPlan::Join {
            org_id: org.id.clone(),
        }),
        Some(_) => Ok(OrgPlan::Create { claim: None }),
        None => Ok(OrgPlan::Create {
            claim: domain.filter(|_| owns_domain).map(str::to_owned),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::ErrorCode;
    use super::*;
    use serde_json::json;

    fn signup(overrides: Value) -> Result<SignUp, AccountError> {
        let mut body = json!({
            "email": "ada@acme.io", "password": "Correct1horse", "firstName": "Ada", "lastName": "Lovelace",
            "companyName": "Acme", "isBusiness": true,
        });
        for (k, v) in overrides.as_object().unwrap() {
            body[k] = v.clone();
        }
        SignUp::parse(body.to_string().as_bytes())
    }

    #[test]
    fn parses_a_complete_request() {
        let s = signup(json!({"companyWebsite": "https://www.Acme.io/about"})).unwrap();
        assert_eq!(s.email.as_str(), "ada@acme.io");
        assert_eq!(s.full_name(), "Ada Lovelace");
        assert_eq!(s.company_website.as_deref(), Some("acme.io"));
    }

    #[test]
    fn invalid_input_names_the_field() {
        for (overrides, field) in [
            (json!({"email": 5}), "email"),
            (json!({"firstName": ""}), "firstName"),
            (json!({"lastName": "x".repeat(101)}), "lastName"),
            (json!({"companyName": null}), "companyName"),
            (json!({"isBusiness": "yes"}), "isBusiness"),
            (json!({"companyWebsite": "ftp://acme.io"}), "companyWebsite"),
            (json!({"companyWebsite": 42}), "companyWebsite"),
        ] {
            let err = signup(overrides).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput);
            assert!(
                err.message.contains(field),
                "{} should name {field}",
                err.message
            );
        }
        assert_eq!(
            signup(json!({"email": "not-an-email"})).unwrap_err().code,
            ErrorCode::InvalidInput
        );
        assert_eq!(
            signup(json!({"password": "weak"})).unwrap_err().code,
            ErrorCode::WeakPassword
        );
        assert_eq!(
            SignUp::parse(b"[]").unwrap_err().code,
            ErrorCode::InvalidInput
        );
    }

    /// A form shows every problem at once, and a personal account needs no company.
    #[test]
    fn every_problem_at_once_and_no_company_for_a_personal_account() {
        let err = SignUp::parse(br#"{"email": "nope", "password": "weak", "isBusiness": true}"#)
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        for field in [
            "Invalid email",
            "firstName",
            "lastName",
            "companyName",
            "uppercase",
        ] {
            assert!(err.message.contains(field), "{field}: {}", err.message);
        }
        let personal = signup(json!({"isBusiness": false, "companyName": null})).unwrap();
        assert_eq!(personal.company_name, "Ada Lovelace");
        assert_eq!(
            signup(json!({"isBusiness": false, "companyName": ""}))
                .unwrap()
                .company_name,
            "Ada Lovelace"
        );
        assert_eq!(
            signup(json!({"isBusiness": false})).unwrap().company_name,
            "Acme"
        );
        let business = signup(json!({"companyName": null})).unwrap_err();
        assert!(
            business
                .message
                .contains("required when isBusiness is true"),
            "{}",
            business.message
        );
        let empty = SignUp::parse(b"{}").unwrap_err();
        assert!(
            empty.message.contains("email is required")
                && empty.message.contains("isBusiness is required"),
            "{}",
            empty.message
        );
    }

    #[test]
    fn website_hosts() {
        assert_eq!(website_host("acme.io").unwrap(), "acme.io");
        assert_eq!(
            website_host("HTTP://WWW.ACME.IO:8080/x?y#z").unwrap(),
            "acme.io"
        );
        for bad in [
            "https://",
            "https://user@acme.io",
            "javascript:alert(1)",
            "https://acme",
            "https://acme.io:x",
        ] {
            assert!(website_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn org_domain_rules() {
        assert_eq!(
            signup(json!({})).unwrap().org_domain().as_deref(),
            Some("acme.io")
        );
        assert_eq!(
            signup(json!({"companyWebsite": "www.other.com"}))
                .unwrap()
                .org_domain()
                .as_deref(),
            Some("other.com")
        );
        assert_eq!(
            signup(json!({"isBusiness": false})).unwrap().org_domain(),
            None,
            "personal"
        );
    }

    #[test]
    fn org_plans() {
        let s = signup(json!({})).unwrap();
        let org = |banned| ExistingOrg {
            id: "o1".into(),
            banned,
        };
        assert_eq!(
            plan_org(&s, Some("acme.io"), None, false).unwrap(),
            OrgPlan::Create {
                claim: Some("acme.io".into())
            }
        );
        assert_eq!(
            plan_org(&s, Some("acme.io"), Some(&org(false)), false).unwrap(),
            OrgPlan::Join {
                org_id: "o1".into()
            }
        );
        assert_eq!(
            plan_org(&s, Some("acme.io"), Some(&org(true)), false)
                .unwrap_err()
                .code,
            ErrorCode::OrgBanned
        );
        // Website says other.com but the email is at acme.io: a new org that claims no domain.
        assert_eq!(
            plan_org(&s, Some("other.com"), Some(&org(false)), false).unwrap(),
            OrgPlan::Create { claim: None }
        );
        assert_eq!(
            plan_org(&s, Some("other.com"), Some(&org(true)), false).unwrap(),
            OrgPlan::Create { claim: None },
            "someone else's banned org is not this user's business"
        );
        assert_eq!(
            plan_org(&s, Some("other.com"), None, false).unwrap(),
            OrgPlan::Create { claim: None }
        );
        assert_eq!(
            plan_org(&s, None, None, false).unwrap(),
            OrgPlan::Create { claim: None }
        );
    }

    #[test]
    fn free_mail_domains_never_define_an_organization() {
        let s = signup(json!({"email": "ada@hotmail.co.uk"})).unwrap();
        let org = ExistingOrg {
            id: "o1".into(),
            banned: false,
        };
        assert_eq!(
            plan_org(&s, Some("hotmail.co.uk"), None, true).unwrap(),
            OrgPlan::Create { claim: None }
        );
        assert_eq!(
            plan_org(&s, Some("hotmail.co.uk"), Some(&org), true).unwrap(),
            OrgPlan::Create { claim: None },
            "even a (legacy) claim on a free-mail domain captures nobody"
        );
    }
}
