//! Security round 3, the account side: each test sends what the outside review sent as
//! an attacker, over HTTP, and holds the answer (SECURITY.md names each). Sessions,
//! verification, links and login guessing here; what leaks around the answers in
//! security_account_leaks.rs.

use gatehouse_e2e::accounts::{
    assert_error, link_token, login_at, open_and_confirm, open_and_confirm_with, reset_by_mail,
    sign_up, signup_body, verification_path, verified_user, PASSWORD,
};
use gatehouse_e2e::{shared_app, TestApp, TestResponse};
use serde_json::{json, Value};

fn login(app: &TestApp, email: &str) -> Value {
    let res = login_at(app, "198.51.100.1", email, PASSWORD);
    assert_eq!(res.status, 200, "{}", res.body);
    res.json()
}

fn text(v: &Value, field: &str) -> String {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {v}"))
        .to_owned()
}

/// Every bearer route an access token opens, as the attacker holding `token` would
/// use it: each must answer 401 `SESSION_ENDED`.
fn assert_token_is_dead(app: &TestApp, token: &str, org: &str, victims_sign_in: &str) {
    // Refused before the body is read: any key would do.
    let key = json!({"publicKey": "-----BEGIN PUBLIC KEY-----"});
    let attempts = [
        app.request_as(token, "GET", "/token", None),
        app.request_as(token, "GET", "/user/profile", None),
        app.request_as(token, "DELETE", &format!("/token/{victims_sign_in}"), None),
        app.request_as(token, "GET", &format!("/organization/{org}/key"), None),
        app.post_json_as(token, &format!("/organization/{org}/key"), &key),
        app.request_as(token, "DELETE", &format!("/organization/{org}/key"), None),
        app.request_as(token, "GET", &format!("/organization/{org}/nodes"), None),
    ];
    for res in attempts {
        assert_error(&res, 401, "SESSION_ENDED");
        assert!(res.header("x-d1-bookmark").is_none(), "{}", res.body);
    }
}

#[test]
fn a_sign_in_refreshing_in_a_loop_is_still_ended_by_the_id_its_owner_sees() {
    // A thief holds a refresh token (a lost laptop) and rotates it again and again. Ada
    // lists her sign-ins, then ends the one she does not know; the thief rotated in
    // between, as it would with a loop. The listed id is the sign-in's own, which no
    // refresh changes (a current token's id would be stale by then: 404).
    let app = shared_app();
    verified_user(app, "ada@refresh-loop.example");
    let laptop = login(app, "ada@refresh-loop.example");
    let phone = login(app, "ada@refresh-loop.example");
    let refresh = |token: &str| app.post_json("/user/refresh", &json!({"refresh_token": token}));
    let mut held = text(&laptop, "refreshToken");
    for _ in 0..3 {
        let next = refresh(&held);
        assert_eq!(next.status, 200, "{}", next.body);
        held = text(&next.json(), "refreshToken");
    }
    let phone_token = text(&phone, "accessToken");
    let listed = app.request_as(&phone_token, "GET", "/token", None);
    assert_eq!(listed.status, 200, "{}", listed.body);
    let thiefs: Vec<String> = listed.json()["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["current"] == false)
        .map(|t| text(t, "id"))
        .collect();
    let next = refresh(&held);
    assert_eq!(next.status, 200, "{}", next.body);
    held = text(&next.json(), "refreshToken");
    // The verified sign-up's own sign-in is listed too: Ada ends every one not hers.
    assert!(thiefs.contains(&text(&laptop, "tokenId")), "{thiefs:?}");
    for id in &thiefs {
        let ended = app.request_as(&phone_token, "DELETE", &format!("/token/{id}"), None);
        assert_eq!(ended.status, 200, "{id}: {}", ended.body);
    }
    assert_error(&refresh(&held), 401, "SESSION_ENDED");
}

#[test]
fn an_access_token_stops_working_the_moment_its_sign_in_ends() {
    let app = shared_app();
    let (_, org, _) = verified_user(app, "ada@stolen-token.example");
    let stolen = login(app, "ada@stolen-token.example");
    let phone = login(app, "ada@stolen-token.example");
    let (stolen_token, phone_token) = (text(&stolen, "accessToken"), text(&phone, "accessToken"));
    assert_eq!(
        app.request_as(&stolen_token, "GET", "/token", None).status,
        200
    );

    // Ada ends the stolen sign-in from her phone: the thief's very next request fails,
    // on every route, and cannot touch Ada's sign-in, keys or organization.
    let path = format!("/token/{}", text(&stolen, "tokenId"));
    assert_eq!(
        app.request_as(&phone_token, "DELETE", &path, None).status,
        200
    );
    assert_token_is_dead(app, &stolen_token, &org, &text(&phone, "tokenId"));
    let listed = app.request_as(&phone_token, "GET", "/token", None);
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(listed.json()["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == phone["tokenId"] && t["current"] == true));

    // Logout ends the phone's access token too (refresh token sent, as clients do).
    let out = app.post_json(
        "/user/logout",
        &json!({"refresh_token": text(&phone, "refreshToken")}),
    );
    assert_eq!(out.status, 200, "{}", out.body);
    assert_token_is_dead(app, &phone_token, &org, "any");

    // A refreshed access token belongs to the same sign-in: it works, then dies with it.
    let laptop = login(app, "ada@stolen-token.example");
    let refreshed = app.post_json(
        "/user/refresh",
        &json!({"refresh_token": text(&laptop, "refreshToken")}),
    );
    let fresh = text(&refreshed.json(), "accessToken");
    assert_eq!(
        app.request_as(&fresh, "GET", "/user/profile", None).status,
        200
    );

    // A password reset ends every sign-in: the old access tokens, fresh or not, fail.
    reset_by_mail(app, "ada@stolen-token.example", 1, "Another1horse");
    for token in [text(&laptop, "accessToken"), fresh] {
        assert_token_is_dead(app, &token, &org, "any");
    }
    let again = login_at(
        app,
        "198.51.100.1",
        "ada@stolen-token.example",
        "Another1horse",
    );
    assert_eq!(again.status, 200, "{}", again.body);
    let token = text(&again.json(), "accessToken");
    let keys = app.request_as(&token, "GET", &format!("/organization/{org}/key"), None);
    assert_eq!(keys.status, 200, "{}", keys.body);
}

/// The squatter: signs up with the victim's address and their own password, with
/// names that would make the mail a phishing message.
fn squat(app: &TestApp, email: &str) -> Value {
    let body = signup_body(
        email,
        json!({"password": "Squatter1pass", "firstName": "Visit https://evil.example/login",
               "lastName": "<a href=\"https://evil.example\">now</a>",
               "companyName": "Call +1 555 0100"}),
    );
    let res = app.post_json("/user/register", &body);
    assert_eq!(res.status, 201, "{}", res.body);
    res.json()
}

#[test]
fn a_sign_up_with_someone_elses_address_never_ends_verified() {
    let app = shared_app();
    let squatter = squat(app, "victim@corp.example");
    let org = text(&squatter["user"], "orgId");

    // The mail the victim gets says what happened and what to do, and carries nothing
    // the squatter typed.
    let mail = &app.wait_for_emails("victim@corp.example", 1)[0];
    assert_eq!(mail.subject, "An account was created with this address");
    for body in [&mail.text, &mail.html] {
        assert!(
            body.contains("An account was created with this email address"),
            "{body}"
        );
        assert!(body.contains("If it was not you"), "{body}");
        assert!(body.contains("password reset"), "{body}");
        for typed in ["evil.example", "555 0100", "Visit"] {
            assert!(!body.contains(typed), "{typed} in {body}");
        }
    }
    let path = verification_path(app, "victim@corp.example");
    let page = app.get(&path);
    assert!(page.body.contains("name=\"password\""), "{}", page.body);
    assert!(page.body.contains("If it was not you"));
    assert!(!page.body.contains("evil.example"));

    // The victim presses the button of a mail they did not ask for (they do not know
    // the squatter's password): nothing is verified, the link stays usable.
    let pressed = open_and_confirm(app, &path);
    assert_eq!(pressed.status, 401, "{}", pressed.body);
    assert!(pressed.body.contains("Email not verified"));
    let token = link_token(&path);
    assert_error(
        &app.post_json("/user/verify-email", &json!({"token": token})),
        400,
        "INVALID_INPUT",
    );
    assert_error(
        &app.post_json(
            "/user/verify-email",
            &json!({"token": token, "password": "Guess1pass"}),
        ),
        401,
        "INVALID_CREDENTIALS",
    );
    let still = app.post_json("/user/pre-verify-email", &json!({"token": token}));
    assert_eq!(still.status, 200, "the link stays usable: {}", still.body);
    let unverified =
        app.d1_query("SELECT email_verified_at_ms FROM users WHERE email = 'victim@corp.example'");
    assert!(unverified[0]["email_verified_at_ms"].is_null());
    let pending = app.d1_query(&format!(
        "SELECT domain, pending_domain FROM organizations WHERE id = '{org}'"
    ));
    assert_eq!(pending[0]["domain"], Value::Null, "no domain captured");
    let squatters = text(&squatter, "accessToken");
    let key = json!({"publicKey": "irrelevant"});
    assert_error(
        &app.post_json_as(&squatters, &format!("/organization/{org}/key"), &key),
        403,
        "EMAIL_NOT_VERIFIED",
    );

    // The mailbox owner takes the address over: a password reset (mailed to them) ends
    // the squatter's sign-ins, then the link with their own password verifies.
    reset_by_mail(app, "victim@corp.example", 1, "Victim1pass");
    let reset_mail = &app.wait_for_emails("victim@corp.example", 2)[1];
    assert!(!reset_mail.text.contains("evil.example") && !reset_mail.html.contains("evil.example"));
    assert_error(
        &app.request_as(&squatters, "GET", "/user/profile", None),
        401,
        "SESSION_ENDED",
    );
    let squatter_refresh = app.post_json(
        "/user/refresh",
        &json!({"refresh_token": text(&squatter, "refreshToken")}),
    );
    assert_eq!(squatter_refresh.status, 401, "{}", squatter_refresh.body);
    assert_eq!(
        login_at(app, "203.0.113.66", "victim@corp.example", "Squatter1pass").status,
        401
    );
    let verified = open_and_confirm_with(app, &path, "Victim1pass");
    assert_eq!(verified.status, 200, "{}", verified.body);
    assert!(verified.body.contains("Email verified"));
    let owner = app.d1_query(&format!(
        "SELECT role FROM org_members WHERE org_id = '{org}'"
    ));
    assert_eq!(owner[0]["role"], "OWNER");
    let claimed = app.d1_query(&format!(
        "SELECT domain FROM organizations WHERE id = '{org}'"
    ));
    assert_eq!(claimed[0]["domain"], "corp.example");
}

#[test]
fn the_flashback_client_verifies_with_token_and_password() {
    let app = shared_app();
    sign_up(app, "ada@verify-by-client.example");
    let token = link_token(&verification_path(app, "ada@verify-by-client.example"));
    let res = app.post_json(
        "/user/verify-email",
        &json!({"token": token, "password": PASSWORD}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["success"], true);
}

#[test]
fn dead_links_cost_no_kdf_run_and_live_ones_one() {
    let app = shared_app();
    sign_up(app, "ada@dead-links.example");
    let kdf = |res: &TestResponse| res.header("x-gatehouse-kdf-runs").unwrap().to_owned();
    let made_up = app.post_json(
        "/user/reset-password",
        &json!({"token": "made-up", "newPassword": "Another1horse"}),
    );
    assert_error(&made_up, 400, "INVALID_LINK");
    assert_eq!(kdf(&made_up), "0");
    let made_up = app.post_json(
        "/user/verify-email",
        &json!({"token": "made-up", "password": PASSWORD}),
    );
    assert_error(&made_up, 400, "INVALID_LINK");
    assert_eq!(kdf(&made_up), "0");

    let reset = reset_by_mail(app, "ada@dead-links.example", 1, "Another1horse");
    assert_eq!(kdf(&reset), "1");
}

/// A script that signs in on every run and never signs out (or anyone repeating a
/// known password) cannot grow an account's sign-ins without bound: past 100, each
/// login deletes the least recently used. One in use (refreshed) is kept.
#[test]
fn an_account_keeps_at_most_100_sign_ins_the_least_recently_used_go() {
    let app = shared_app();
    let email = "ci@many-logins.example";
    let (_, _, signed_up) = gatehouse_e2e::accounts::verified_user(app, email);
    let count = || {
        app.d1_query(&format!(
            "SELECT count(*) AS n FROM sign_ins s JOIN users u ON u.id = s.user_id \
             WHERE u.email = '{email}'"
        ))[0]["n"]
            .as_i64()
            .unwrap()
    };
    let first_login = text(&login(app, email), "accessToken");
    for _ in 0..98 {
        login(app, email);
    }
    assert_eq!(count(), 100, "the sign-up's and 99 logins");
    // The sign-up's sign-in is in use: a refresh makes it the most recently used.
    let refreshed = app.post_json(
        "/user/refresh",
        &json!({"refreshToken": text(&signed_up, "refreshToken")}),
    );
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let in_use = text(&refreshed.json(), "accessToken");
    for _ in 0..6 {
        login(app, email);
    }
    assert_eq!(
        count(),
        100,
        "106 sign-ins made (the sign-up and 105 logins), 100 kept"
    );
    let listed = app.request_as(&in_use, "GET", "/token", None);
    assert_eq!(
        listed.status, 200,
        "the sign-in in use is kept: {}",
        listed.body
    );
    assert_eq!(listed.json()["tokens"].as_array().map(Vec::len), Some(100));
    // The least recently used went first: the first login's.
    let gone = app.request_as(&first_login, "GET", "/user/profile", None);
    assert_eq!(gone.status, 401, "{}", gone.body);
}
