//! Account fixtures for tests: sign up and verify through the real HTTP API and the
//! real verification email, as a person would.

use crate::{TestApp, TestResponse};
use serde_json::{json, Value};

/// A valid sign-up body for `email`, with fields replaced by `overrides`.
pub fn signup_body(email: &str, overrides: Value) -> Value {
    let mut body = json!({
        "email": email, "password": PASSWORD, "firstName": "Ada", "lastName": "Lovelace",
        "companyName": "Acme", "isBusiness": true,
    });
    for (k, v) in overrides.as_object().expect("overrides is an object") {
        body[k] = v.clone();
    }
    body
}

/// Signs up and returns the 201 body.
pub fn sign_up(app: &TestApp, email: &str) -> Value {
    let res = app.post_json("/user/register", &signup_body(email, json!({})));
    assert_eq!(res.status, 201, "{}", res.body);
    res.json()
}

/// The path of the link in the newest verification email to `email`.
pub fn verification_path(app: &TestApp, email: &str) -> String {
    let emails = app.wait_for_emails(email, 1);
    let link = emails
        .last()
        .expect("an email")
        .first_link()
        .expect("a link in the email");
    link.strip_prefix(&app.base_url)
        .expect("the link points at this worker")
        .to_owned()
}

/// The password [`signup_body`] signs up with.
pub const PASSWORD: &str = "Correct1horse";

/// Opens a verification link as a person does: the page (GET), then its form, with
/// the password [`signup_body`] chose. Returns the button's answer.
pub fn open_and_confirm(app: &TestApp, path: &str) -> TestResponse {
    open_and_confirm_with(app, path, PASSWORD)
}

/// [`open_and_confirm`], entering `password` in the page's form.
pub fn open_and_confirm_with(app: &TestApp, path: &str, password: &str) -> TestResponse {
    let page = app.get(path);
    if page.status != 200 {
        return page;
    }
    let form = page
        .body
        .split("name=\"token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("a token field in the page: {}", page.body));
    let body = format!("token={form}&password={}", form_encode(password));
    app.request(
        "POST",
        "/user/verify-email",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(body.as_bytes()),
    )
}

/// Follows the link in the newest verification email to `email` and presses the
/// page's button.
pub fn verify_by_email(app: &TestApp, email: &str) {
    let confirmed = open_and_confirm(app, &verification_path(app, email));
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    assert!(confirmed.body.contains("Email verified"));
}

/// A signed-up, verified user: (access token, the organization it is in once verified, sign-up body).
pub fn verified_user(app: &TestApp, email: &str) -> (String, String, Value) {
    let body = sign_up(app, email);
    verify_by_email(app, email);
    let token = body["accessToken"]
        .as_str()
        .expect("accessToken")
        .to_owned();
    // The organization the account is in once verified: its own, or the one that
    // claimed its domain, which it joined on verifying.
    let id = body["user"]["id"].as_str().expect("user id");
    let org = app.d1_query(&format!(
        "SELECT org_id FROM org_members WHERE user_id = '{id}'"
    ))[0]["org_id"]
        .as_str()
        .expect("a membership")
        .to_owned();
    (token, org, body)
}

/// Makes the account `user_id` a MEMBER of `org` too, as a membership from before
/// sign-ups joined only once verified (and before domain claims needed verification):
/// such rows remain in databases from then, and no route makes them now, so it is
/// written straight into D1. The account keeps the organization its sign-up founded.
pub fn legacy_membership(app: &TestApp, org: &str, user_id: &str) {
    app.d1_query(&format!(
        "INSERT INTO org_members (org_id, user_id, role, created_at_ms) \
         VALUES ('{org}', '{user_id}', 'MEMBER', 0)"
    ));
}

/// The stored id of the account at `email` (as stored: lowercase).
pub fn user_id(app: &TestApp, email: &str) -> String {
    app.d1_query(&format!("SELECT id FROM users WHERE email = '{email}'"))[0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no account {email}"))
        .to_owned()
}

/// The token of a mailed link (its last query value).
pub fn link_token(link: &str) -> String {
    link.rsplit('=').next().expect("a token").to_owned()
}

/// The reset link in a password-reset mail.
pub fn reset_link(mail: &crate::SentEmail) -> String {
    mail.text
        .split_whitespace()
        .find(|w| w.contains("/user/reset-password?token="))
        .expect("a reset link")
        .to_owned()
}

/// `POST /user/login` from the client address `ip` (`CF-Connecting-IP`).
pub fn login_at(app: &TestApp, ip: &str, email: &str, password: &str) -> TestResponse {
    let body = json!({"email": email, "password": password}).to_string();
    app.request(
        "POST",
        "/user/login",
        &[
            ("content-type", "application/json"),
            ("cf-connecting-ip", ip),
        ],
        Some(body.as_bytes()),
    )
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn assert_error(res: &TestResponse, status: u16, code: &str) {
    assert_eq!(res.status, status, "{}", res.body);
    // The Flashback client reads an error's body only when it says it is JSON.
    assert_eq!(
        res.header("content-type"),
        Some("application/json"),
        "{}",
        res.body
    );
    assert_eq!(res.json()["success"], false);
    assert_eq!(res.json()["error_code"], code, "{}", res.body);
}

/// Asks for a password reset of `email` and sets `new_password` with the link of the
/// mail that brings it (the account's `nth` mail, from 0); the answer.
pub fn reset_by_mail(app: &TestApp, email: &str, nth: usize, new_password: &str) -> TestResponse {
    reset_by_mail_from(app, None, email, nth, new_password)
}

/// [`reset_by_mail`], the new password sent from the client address `ip`
/// (`cf-connecting-ip`, as Cloudflare sets it).
pub fn reset_by_mail_from(
    app: &TestApp,
    ip: Option<&str>,
    email: &str,
    nth: usize,
    new_password: &str,
) -> TestResponse {
    let asked = app.post_json("/user/request-reset-password", &json!({"email": email}));
    assert_eq!(asked.status, 200, "{}", asked.body);
    let link = reset_link(&app.wait_for_emails(email, nth + 1)[nth]);
    let body = json!({"token": link_token(&link), "newPassword": new_password}).to_string();
    let mut headers = vec![("content-type", "application/json")];
    headers.extend(ip.map(|ip| ("cf-connecting-ip", ip)));
    let reset = app.request(
        "POST",
        "/user/reset-password",
        &headers,
        Some(body.as_bytes()),
    );
    assert_eq!(reset.status, 200, "{}", reset.body);
    reset
}
