//! The Flashback client's sign-in lifetimes, sent as `makeRequest` sends them
//! (tests/src/flashback.rs): logout racing refresh, preVerifyEmail and the session
//! list, and an access token past its 15 minutes that the client keeps sending.
//!
//! All on one shared worker: each test has its own people at a domain of its own.

use gatehouse_e2e::accounts::{signup_body, verify_by_email, PASSWORD};
use gatehouse_e2e::flashback::{client_call, client_sign_up, json_reply};
use gatehouse_e2e::nodes::now_ms;
use gatehouse_e2e::{shared_app, TestResponse};
use serde_json::{json, Value};

#[test]
fn logout_racing_refresh_leaves_the_sign_in_dead_either_way() {
    let app = shared_app();
    client_call(
        app,
        None,
        "POST",
        "user/register",
        Some(&signup_body("ada@racing.acme.io", json!({}))),
    );
    let login = json_reply(
        &client_call(
            app,
            None,
            "POST",
            "user/login",
            Some(&json!({"email": "ada@racing.acme.io", "password": "Correct1horse"})),
        ),
        200,
    );
    let token = login["refreshToken"].as_str().unwrap().to_owned();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let racers: Vec<_> = ["user/logout", "user/refresh"]
        .into_iter()
        .map(|path| {
            let (barrier, token) = (barrier.clone(), token.clone());
            std::thread::spawn(move || {
                barrier.wait();
                client_call(
                    app,
                    None,
                    "POST",
                    path,
                    Some(&json!({"refresh_token": token})),
                )
            })
        })
        .collect();
    let results: Vec<TestResponse> = racers.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(results[0].status, 200, "logout: {}", results[0].body);
    // Whatever the refresh answered, nothing of this sign-in refreshes afterwards.
    let mut tokens = vec![token];
    if results[1].status == 200 {
        tokens.push(
            results[1].json()["refreshToken"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    for t in tokens {
        let res = client_call(
            app,
            None,
            "POST",
            "user/refresh",
            Some(&json!({"refresh_token": t})),
        );
        assert_eq!(res.status, 401, "{}", res.body);
    }
}

#[test]
fn pre_verify_then_validate_and_the_session_list() {
    let app = shared_app();
    client_sign_up(app, "ada@sessions.acme.io");
    let link = app.wait_for_emails("ada@sessions.acme.io", 1)[0]
        .first_link()
        .unwrap();
    let token = link.rsplit('=').next().unwrap().to_owned();

    // preVerifyEmail: good, and still good (nothing used); a made-up token is not.
    for _ in 0..2 {
        let pre = json_reply(
            &client_call(
                app,
                None,
                "POST",
                "user/pre-verify-email",
                Some(&json!({"token": token})),
            ),
            200,
        );
        assert_eq!(
            (pre["authMethod"].clone(), pre["hasPassword"].clone()),
            (json!("password"), json!(true))
        );
        assert_eq!(pre["success"], true);
        assert!(pre["message"].is_string(), "{pre}");
    }
    let made_up = client_call(
        app,
        None,
        "POST",
        "user/pre-verify-email",
        Some(&json!({"token": "made-up"})),
    );
    assert_eq!(made_up.json()["error_code"], "INVALID_LINK");
    // validateRegistration sends {token, password}; the account already has one.
    let body = json!({"token": token, "password": "Correct1horse"});
    let verified = json_reply(
        &client_call(app, None, "POST", "/user/verify-email", Some(&body)),
        200,
    );
    assert_eq!(verified["success"], true, "{verified}");
    let used = client_call(
        app,
        None,
        "POST",
        "user/pre-verify-email",
        Some(&json!({"token": token})),
    );
    assert_eq!(
        (used.status, used.json()["error_code"].clone()),
        (400, json!("INVALID_LINK"))
    );

    // Two more sign-ins, one from a described device.
    let credentials = json!({"email": "ada@sessions.acme.io", "password": "Correct1horse"});
    let laptop = json_reply(
        &client_call(app, None, "POST", "user/login", Some(&credentials)),
        200,
    );
    let mut with_device = credentials.clone();
    with_device["deviceInfo"] = json!({"userAgent": "FlashbackApp/1.0", "deviceType": "MOBILE", "os": "iOS", "browser": "Safari"});
    let phone = json_reply(
        &client_call(app, None, "POST", "user/login", Some(&with_device)),
        200,
    );

    // getTokens, as the laptop: three live sign-ins (sign-up's too), the laptop's current.
    let bearer = laptop["accessToken"].as_str().unwrap();
    let listed = json_reply(&client_call(app, Some(bearer), "GET", "token", None), 200);
    let tokens = listed["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 3, "{listed}");
    let current: Vec<&Value> = tokens.iter().filter(|t| t["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], laptop["tokenId"]);
    let phone_entry = tokens
        .iter()
        .find(|t| t["id"] == phone["tokenId"])
        .expect("the phone's sign-in");
    assert_eq!(phone_entry["deviceInfo"]["os"], "iOS");
    for field in ["createdAt", "lastUsedAt", "expiresAt"] {
        assert!(
            phone_entry[field].as_str().unwrap().ends_with('Z'),
            "{field}"
        );
    }

    // revokeToken: the phone's sign-in ends; only the caller's own sign-ins can be ended.
    let path = format!("token/{}", phone["tokenId"].as_str().unwrap());
    assert_eq!(
        json_reply(&client_call(app, Some(bearer), "DELETE", &path, None), 200)["success"],
        true
    );
    let dead = client_call(
        app,
        None,
        "POST",
        "user/refresh",
        Some(&json!({"refresh_token": phone["refreshToken"]})),
    );
    assert_eq!(dead.status, 401);
    assert_eq!(
        client_call(app, Some(bearer), "DELETE", &path, None).status,
        404
    );
    let other = json_reply(
        &client_call(
            app,
            None,
            "POST",
            "user/register",
            Some(&signup_body("eve@sessions.evil.example", json!({}))),
        ),
        201,
    );
    let theirs = format!("token/{}", other["tokenId"].as_str().unwrap());
    assert_eq!(
        client_call(app, Some(bearer), "DELETE", &theirs, None).status,
        404
    );
    assert_eq!(
        json_reply(&client_call(app, Some(bearer), "GET", "token", None), 200)["tokens"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// `token` as the worker signed it, but issued `ms_ago` ago: an access token of the
/// same sign-in whose 15 minutes are over (the key is the worker's own, from .dev.vars).
fn issued_ago(token: &str, ms_ago: i64) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    let claim = |name: &str| claims[name].as_str().unwrap().to_owned();
    gatehouse_core::account::tokens::issue_access(
        gatehouse_e2e::dev_var("JWT_SECRET").as_bytes(),
        &claim("sub"),
        &claim("org"),
        claims["email_verified"].as_bool().unwrap(),
        &claim("sid"),
        now_ms() - ms_ago,
    )
}

/// The client keeps its access token and sends it on every call until a 401 makes it
/// refresh: past its 15 minutes, the routes that need it say so by name
/// (`TOKEN_EXPIRED`, as JSON the client's `HttpError` reads), the public ones ignore it,
/// and a refresh sent with it brings a token that works.
#[test]
fn an_expired_access_token_is_named_and_refreshing_with_it_still_works() {
    let app = shared_app();
    let email = "ada@expired-access.acme.io";
    client_sign_up(app, email);
    verify_by_email(app, email);
    let login_body = json!({"email": email, "password": PASSWORD});
    let signed_in = json_reply(
        &client_call(app, None, "POST", "user/login", Some(&login_body)),
        200,
    );
    let org = signed_in["user"]["orgId"].as_str().unwrap().to_owned();
    let fresh = signed_in["accessToken"].as_str().unwrap();
    let expired = issued_ago(fresh, 16 * 60_000);
    let within = issued_ago(fresh, 14 * 60_000);

    assert_eq!(
        client_call(app, Some(&within), "GET", "user/profile", None).status,
        200,
        "the same token within its 15 minutes"
    );
    for (method, path) in [
        ("GET", "user/profile".to_owned()),
        ("GET", format!("organization/{org}/nodes")),
        ("GET", format!("organization/{org}/key")),
        ("POST", format!("organization/{org}/key")),
    ] {
        let res = client_call(app, Some(&expired), method, &path, None);
        assert_eq!(res.status, 401, "{method} {path}: {}", res.body);
        assert_eq!(res.header("content-type"), Some("application/json"));
        assert_eq!(res.json()["error_code"], "TOKEN_EXPIRED", "{method} {path}");
    }
    // The public calls ignore the stale bearer: the client refreshes with it attached.
    let renewed = json_reply(
        &client_call(
            app,
            Some(&expired),
            "POST",
            "user/refresh",
            Some(&json!({"refresh_token": signed_in["refreshToken"]})),
        ),
        200,
    );
    let access = renewed["accessToken"].as_str().unwrap();
    json_reply(
        &client_call(app, Some(access), "GET", "user/profile", None),
        200,
    );
    json_reply(
        &client_call(app, Some(&expired), "POST", "user/login", Some(&login_body)),
        200,
    );
    let asked = json!({ "email": email });
    for (path, status) in [
        ("user/request-reset-password", 200),
        ("user/resend-verification", 202),
    ] {
        let res = client_call(app, Some(&expired), "POST", path, Some(&asked));
        assert_eq!(json_reply(&res, status)["success"], true, "{path}");
    }
}
