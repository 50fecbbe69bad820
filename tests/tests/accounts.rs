//! Accounts end to end: sign-up, organizations and trials, the verification email,
//! errors, and a write refused until the email is verified (the link itself:
//! verification_links.rs; domain claims: domain_claims.rs; login, refresh and
//! sign-out: sign_ins.rs).
//!
//! Tests whose people and domains are their own share one worker; a worker of their
//! own for other `[vars]`, and for the one that counts every organization.

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::accounts::{assert_error, sign_up, signup_body, verify_by_email};
use gatehouse_e2e::{shared_app, spawn_app, spawn_app_with};
use serde_json::{json, Value};

fn key_body() -> Value {
    json!({"publicKey": PrivateKey::generate(2048).unwrap().public_key().to_spki_pem()})
}

#[test]
fn sign_up_creates_user_org_trial_and_sends_the_link() {
    let app = shared_app();
    let body = sign_up(app, "Ada@Acme-Trial.io");
    assert_eq!(body["success"], true);
    for field in ["accessToken", "refreshToken", "tokenId"] {
        assert!(
            body[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field}"
        );
    }
    let user = &body["user"];
    assert_eq!(user["email"], "ada@acme-trial.io", "stored normalized");
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["image_url"], Value::Null);

    let org_id = user["orgId"].as_str().unwrap();
    let org = app.d1_query(&format!(
        "SELECT domain, pending_domain FROM organizations WHERE id = '{org_id}'"
    ));
    assert_eq!(
        (&org[0]["domain"], &org[0]["pending_domain"]),
        (&Value::Null, &json!("acme-trial.io")),
        "the domain is claimed only once the founder's email is verified"
    );
    let member = app.d1_query(&format!(
        "SELECT role FROM org_members WHERE org_id = '{org_id}'"
    ));
    assert_eq!(member[0]["role"], "OWNER");
    let trial = app.d1_query(&format!("SELECT plan, ends_at_ms - starts_at_ms AS length FROM subscriptions WHERE org_id = '{org_id}'"));
    assert_eq!(
        (trial[0]["plan"].as_str(), trial[0]["length"].as_i64()),
        (Some("FREE_TRIAL"), Some(14 * 86_400_000))
    );

    let mail = app.wait_for_emails("ada@acme-trial.io", 1).remove(0);
    assert_eq!(mail.from, "no-reply@gatehouse.localhost");
    let link = mail.first_link().unwrap();
    assert!(
        link.starts_with(&format!("{}/user/verify-email?token=", app.base_url)),
        "{link}"
    );
    assert!(
        mail.html.contains(&link),
        "the HTML part carries the same link"
    );
    let token = link.rsplit('=').next().unwrap();
    let user_id = user["id"].as_str().unwrap();
    let stored = app.d1_query(&format!(
        "SELECT token_hash FROM email_verifications WHERE user_id = '{user_id}'"
    ));
    assert_ne!(stored[0]["token_hash"], token, "only a hash is stored");
    verify_by_email(app, "ada@acme-trial.io");
    let org = app.d1_query(&format!(
        "SELECT domain, pending_domain FROM organizations WHERE id = '{org_id}'"
    ));
    assert_eq!(
        (&org[0]["domain"], &org[0]["pending_domain"]),
        (&json!("acme-trial.io"), &Value::Null)
    );
    let hashes = app.d1_query(&format!(
        "SELECT password_hash FROM users WHERE id = '{user_id}'"
    ));
    assert!(hashes[0]["password_hash"]
        .as_str()
        .unwrap()
        .starts_with("$pbkdf2-sha512$i=1000$"));
}

#[test]
fn every_sign_up_error_code_is_reachable() {
    let app = shared_app();
    assert_error(
        &app.post_json("/user/register", &signup_body("not-an-email", json!({}))),
        400,
        "INVALID_INPUT",
    );
    assert_error(
        &app.post_json(
            "/user/register",
            &signup_body("a@acme-errors.io", json!({"isBusiness": "yes"})),
        ),
        400,
        "INVALID_INPUT",
    );
    assert_error(
        &app.post_json(
            "/user/register",
            &signup_body("a@acme-errors.io", json!({"companyWebsite": "not a url"})),
        ),
        400,
        "INVALID_INPUT",
    );
    let weak = app.post_json(
        "/user/register",
        &signup_body("a@acme-errors.io", json!({"password": "short"})),
    );
    assert_error(&weak, 400, "WEAK_PASSWORD");
    let message = weak.json()["message"].as_str().unwrap().to_owned();
    for rule in ["8 characters", "uppercase", "digit"] {
        assert!(message.contains(rule), "{message} lists {rule}");
    }

    sign_up(app, "grace@errors.navy.mil");
    assert_error(
        &app.post_json(
            "/user/register",
            &signup_body("GRACE@Errors.Navy.MIL", json!({})),
        ),
        400,
        "EMAIL_EXISTS_INACTIVE",
    );
    verify_by_email(app, "grace@errors.navy.mil");
    assert_error(
        &app.post_json(
            "/user/register",
            &signup_body("grace@errors.navy.mil", json!({})),
        ),
        400,
        "EMAIL_EXISTS_ACTIVE",
    );

    assert_eq!(
        // Every address this test tried, as stored (lower case).
        app.d1_query(
            "SELECT count(*) AS n FROM users WHERE email IN \
             ('not-an-email', 'a@acme-errors.io', 'grace@errors.navy.mil')"
        )[0]["n"],
        1,
        "refused sign-ups leave nothing"
    );
}

#[test]
fn colleagues_join_their_company_and_others_get_their_own_org() {
    let app = spawn_app();
    let founder = sign_up(&app, "ada@acme.io");
    verify_by_email(&app, "ada@acme.io");
    // A colleague's sign-up founds an organization of its own (the address is not
    // proved yet); verifying it moves them into the founder's, and theirs goes.
    let colleague = sign_up(&app, "charles@acme.io");
    assert_ne!(colleague["user"]["orgId"], founder["user"]["orgId"]);
    verify_by_email(&app, "charles@acme.io");
    let roles = app.d1_query("SELECT org_id, role FROM org_members ORDER BY created_at_ms");
    assert_eq!(
        roles,
        vec![
            json!({"org_id": founder["user"]["orgId"], "role": "OWNER"}),
            json!({"org_id": founder["user"]["orgId"], "role": "MEMBER"})
        ]
    );
    assert_eq!(
        app.d1_query("SELECT count(*) AS n FROM subscriptions")[0]["n"],
        1,
        "joining keeps no trial"
    );

    // Claims acme.io on the website but mails from elsewhere: a separate organization.
    let outsider = app.post_json(
        "/user/register",
        &signup_body(
            "eve@evil.example",
            json!({"companyWebsite": "https://www.acme.io"}),
        ),
    );
    assert_eq!(outsider.status, 201);
    assert_ne!(outsider.json()["user"]["orgId"], founder["user"]["orgId"]);
    // Free mail and personal accounts never share.
    let a = sign_up(&app, "one@gmail.com");
    let b = sign_up(&app, "two@gmail.com");
    assert_ne!(a["user"]["orgId"], b["user"]["orgId"]);
    let personal = app.post_json(
        "/user/register",
        &signup_body("three@acme.io", json!({"isBusiness": false})),
    );
    assert_ne!(personal.json()["user"]["orgId"], founder["user"]["orgId"]);
    assert_eq!(
        app.d1_query("SELECT count(*) AS n FROM organizations")[0]["n"],
        5
    );
}

/// Broken JSON says where it broke and what was expected; a sign-up form gets every
/// problem at once; a personal account needs no company.
#[test]
fn errors_say_where_and_what_is_expected() {
    let app = shared_app();
    let broken = app.request(
        "POST",
        "/user/login",
        &[("content-type", "application/json")],
        Some(b"{\"email\": \"ada@acme.io\",\n \"password\": }"),
    );
    assert_error(&broken, 400, "INVALID_INPUT");
    let message = broken.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with("Invalid JSON at line 2 column 14"),
        "{message}"
    );
    assert!(message.contains("\"password\""), "{message}");

    let everything = app.post_json(
        "/user/register",
        &json!({"email": "not-an-address", "password": "weak", "isBusiness": true}),
    );
    assert_error(&everything, 400, "INVALID_INPUT");
    let message = everything.json()["message"].as_str().unwrap().to_owned();
    for part in [
        "Invalid email",
        "firstName",
        "lastName",
        "companyName",
        "uppercase",
    ] {
        assert!(message.contains(part), "{part}: {message}");
    }
    let personal = app.post_json(
        "/user/register",
        &json!({"email": "grace@personal.example", "password": "Correct1horse",
                "firstName": "Grace", "lastName": "Hopper", "isBusiness": false}),
    );
    assert_eq!(personal.status, 201, "{}", personal.body);
}

#[test]
fn writes_need_a_verified_email_and_the_right_role() {
    let app = spawn_app_with(&[("ORGKEYS_MAX", "2")]);
    let owner = sign_up(&app, "ada@acme.io");
    let org = owner["user"]["orgId"].as_str().unwrap().to_owned();
    let path = format!("/organization/{org}/key");
    let token = owner["accessToken"].as_str().unwrap().to_owned();

    assert_error(&app.post_json(&path, &key_body()), 401, "UNAUTHORIZED");
    assert_error(
        &app.post_json_as("not-a-token", &path, &key_body()),
        401,
        "UNAUTHORIZED",
    );
    assert_error(
        &app.post_json_as(&token, &path, &key_body()),
        403,
        "EMAIL_NOT_VERIFIED",
    );
    verify_by_email(&app, "ada@acme.io");
    // The same access token works now: the extractor reads the current state.
    let created = app.post_json_as(&token, &path, &key_body());
    assert_eq!(created.status, 201, "{}", created.body);
    let data = &created.json()["data"];
    assert_eq!(data["orgId"], org.as_str());
    assert!(data["publicKey"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN PUBLIC KEY-----"));

    let small = json!({"publicKey": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"});
    assert_error(
        &app.post_json_as(&token, &path, &small),
        400,
        "INVALID_INPUT",
    );
    assert_eq!(app.post_json_as(&token, &path, &key_body()).status, 201);
    assert_error(
        &app.post_json_as(&token, &path, &key_body()),
        400,
        "QUOTA_EXCEEDED",
    );

    let colleague = sign_up(&app, "charles@acme.io");
    verify_by_email(&app, "charles@acme.io");
    let colleague_token = colleague["accessToken"].as_str().unwrap();
    assert_error(
        &app.post_json_as(colleague_token, &path, &key_body()),
        403,
        "FORBIDDEN",
    );
    let stranger = sign_up(&app, "eve@evil.example");
    verify_by_email(&app, "eve@evil.example");
    assert_error(
        &app.post_json_as(
            stranger["accessToken"].as_str().unwrap(),
            &path,
            &key_body(),
        ),
        403,
        "FORBIDDEN",
    );

    let audit = app.d1_query(&format!(
        "SELECT action, actor_user_id FROM key_audit WHERE org_id = '{org}'"
    ));
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0]["actor_user_id"], owner["user"]["id"]);
}
