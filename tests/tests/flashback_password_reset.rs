//! The Flashback client's password reset, sent as `makeRequest` sends them
//! (tests/src/flashback.rs): request a link by email, reset once with it, and what a
//! reset does to the old password, the old sessions and the link itself.

use gatehouse_e2e::accounts::{reset_link, signup_body, verify_by_email};
use gatehouse_e2e::flashback::{client_call, json_reply};
use gatehouse_e2e::{spawn_app, TestApp};
use serde_json::{json, Value};

/// The reset link in a reset mail (its text names the product's URL before it).
/// requestPasswordReset, as the client sends it: 200 whoever asks.
fn request_reset(app: &TestApp, email: &str) -> Value {
    json_reply(
        &client_call(
            app,
            None,
            "POST",
            "user/request-reset-password",
            Some(&json!({ "email": email })),
        ),
        200,
    )
}

#[test]
fn a_forgotten_password_is_reset_by_email_once() {
    let app = spawn_app();
    client_call(
        &app,
        None,
        "POST",
        "user/register",
        Some(&signup_body("ada@acme.io", json!({}))),
    );
    verify_by_email(&app, "ada@acme.io");
    let old = json!({"email": "ada@acme.io", "password": "Correct1horse"});
    let session = json_reply(
        &client_call(&app, None, "POST", "user/login", Some(&old)),
        200,
    );
    let old_refresh = session["refreshToken"].as_str().unwrap().to_owned();

    // requestPasswordReset: the same answer for an unknown address, and no mail to it.
    let asked = request_reset(&app, "ada@acme.io");
    let unknown = request_reset(&app, "eve@acme.io");
    assert_eq!(asked, unknown);
    let mail = app
        .wait_for_emails("ada@acme.io", 2)
        .into_iter()
        .find(|m| m.subject == "Reset your password")
        .expect("the reset mail");
    assert!(
        mail.text.contains(&app.base_url),
        "names the product's PUBLIC_URL"
    );
    let link = reset_link(&mail);
    let path = link
        .strip_prefix(&app.base_url)
        .expect("a link to this worker")
        .to_owned();
    assert!(path.starts_with("/user/reset-password?token="));
    let token = path.rsplit('=').next().unwrap().to_owned();
    let page = app.get(&path);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("name=\"newPassword\""));
    assert!(app.emails_to("eve@acme.io").is_empty());

    // resetPassword: the sign-up policy, and a weak try does not use the link up.
    let weak = client_call(
        &app,
        None,
        "POST",
        "user/reset-password",
        Some(&json!({"token": token, "newPassword": "weak"})),
    );
    assert_eq!(weak.status, 400);
    assert_eq!(weak.json()["error_code"], "WEAK_PASSWORD");
    // Two resets with one link at once: exactly one sets the password.
    let app = std::sync::Arc::new(app);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let racers: Vec<_> = ["Second2horse", "Third3horse"]
        .into_iter()
        .map(|password| {
            let (app, barrier, token) = (app.clone(), barrier.clone(), token.clone());
            std::thread::spawn(move || {
                let body = json!({"token": token, "newPassword": password});
                barrier.wait();
                (
                    password,
                    client_call(&app, None, "POST", "user/reset-password", Some(&body)),
                )
            })
        })
        .collect();
    let results: Vec<_> = racers.into_iter().map(|t| t.join().unwrap()).collect();
    let winners: Vec<&str> = results
        .iter()
        .filter(|(_, r)| r.status == 200)
        .map(|(p, _)| *p)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "{:?}",
        results.iter().map(|(_, r)| &r.body).collect::<Vec<_>>()
    );
    let winner = results.iter().find(|(_, r)| r.status == 200).unwrap();
    assert_eq!(json_reply(&winner.1, 200)["success"], true);
    let loser = results.iter().find(|(_, r)| r.status != 200).unwrap();
    assert_eq!(loser.1.json()["error_code"], "INVALID_LINK");

    // The old password and every old sign-in are over; the new password works.
    assert_eq!(
        client_call(&app, None, "POST", "user/login", Some(&old)).status,
        401
    );
    let refreshed = client_call(
        &app,
        None,
        "POST",
        "user/refresh",
        Some(&json!({"refresh_token": old_refresh})),
    );
    assert_eq!(refreshed.status, 401, "{}", refreshed.body);
    let new = json!({"email": "ada@acme.io", "password": winners[0]});
    json_reply(
        &client_call(&app, None, "POST", "user/login", Some(&new)),
        200,
    );
    let reused = client_call(
        &app,
        None,
        "POST",
        "user/reset-password",
        Some(&json!({"token": token, "newPassword": "Fourth4horse"})),
    );
    assert_eq!(reused.json()["error_code"], "INVALID_LINK");

    // The page's own form, as a browser posts it.
    app.d1_query("UPDATE password_resets SET created_at_ms = created_at_ms - 120000");
    request_reset(&app, "ada@acme.io");
    let mail = app
        .wait_for_emails("ada@acme.io", 3)
        .into_iter()
        .rfind(|m| m.subject == "Reset your password")
        .unwrap();
    let token = reset_link(&mail).rsplit('=').next().unwrap().to_owned();
    let form_post = |form: &str| {
        app.request(
            "POST",
            "/user/reset-password",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(form.as_bytes()),
        )
    };
    // A field that does not decode is named as such, not as missing, and uses nothing up.
    let broken = form_post(&format!("token={token}&newPassword=Fifth5horse%C3"));
    assert_eq!(broken.status, 400, "{}", broken.body);
    assert!(
        broken
            .body
            .contains("newPassword is not percent-encoded UTF-8"),
        "{}",
        broken.body
    );
    let form = format!("token={token}&newPassword=Fifth5horse");
    let done = form_post(&form);
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Password changed"));
    let fifth = json!({"email": "ada@acme.io", "password": "Fifth5horse"});
    json_reply(
        &client_call(&app, None, "POST", "user/login", Some(&fifth)),
        200,
    );
}
