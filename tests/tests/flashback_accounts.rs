//! The Flashback client's account calls, sent as `makeRequest` sends them
//! (tests/src/flashback.rs): sign-up with its extra fields, resend by link id, login,
//! refresh with `refresh_token`, logout, profile; roles as Flashback's numbers.
//!
//! All on one shared worker: each test has its own people at a domain of its own.

use gatehouse_e2e::accounts::{signup_body, verify_by_email, PASSWORD};
use gatehouse_e2e::flashback::{client_call, json_reply};
use gatehouse_e2e::nodes::now_ms;
use gatehouse_e2e::{shared_app, TestApp, TestResponse};
use serde_json::{json, Value};

/// userRegister with the sign-up's own fields: 201, its answer.
fn client_sign_up(app: &TestApp, email: &str) -> Value {
    let body = signup_body(email, json!({}));
    json_reply(
        &client_call(app, None, "POST", "user/register", Some(&body)),
        201,
    )
}

fn expires_soon(body: &Value) {
    let at = body["expiresAt"].as_i64().expect("expiresAt, Unix ms");
    let ahead = at - now_ms();
    assert!(
        (14 * 60_000..=15 * 60_000 + 5_000).contains(&ahead),
        "{ahead} ms ahead"
    );
}

#[test]
fn sign_up_resend_login_refresh_logout_and_profile_as_the_client_calls_them() {
    let app = shared_app();
    // userRegister, with RegisterBody fields gatehouse does not keep.
    let mut body = signup_body("ada@client.acme.io", json!({}));
    for (k, v) in [
        ("phone", "+44 20 7946 0000"),
        ("address1", "1 Main St"),
        ("country", "GB"),
        ("activationUid", "x"),
    ] {
        body[k] = json!(v);
    }
    let signed_up = json_reply(
        &client_call(app, None, "POST", "user/register", Some(&body)),
        201,
    );
    expires_soon(&signed_up);
    assert_eq!(signed_up["user"]["orgRole"], 255, "the founder is OWNER");
    let link_id = signed_up["verificationTokenId"]
        .as_str()
        .expect("verificationTokenId");

    // resendVerificationEmail(id): POST, no body; once a minute per account.
    let path = format!("user/resend-verification/{link_id}");
    let resent = json_reply(&client_call(app, None, "POST", &path, None), 202);
    assert_eq!(resent["success"], true);
    assert!(resent["message"].is_string(), "{resent}");
    app.wait_for_emails("ada@client.acme.io", 1);
    app.d1_query(
        "UPDATE email_verifications SET created_at_ms = created_at_ms - 120000 \
         WHERE user_id = (SELECT id FROM users WHERE email = 'ada@client.acme.io')",
    );
    json_reply(&client_call(app, None, "POST", &path, None), 202);
    let links = app.wait_for_emails("ada@client.acme.io", 2);
    assert_ne!(links[0].first_link(), links[1].first_link(), "a fresh link");
    // An unknown id answers the same, sending nothing.
    json_reply(
        &client_call(app, None, "POST", "user/resend-verification/nope", None),
        202,
    );
    verify_by_email(app, "ada@client.acme.io");

    // userLogin, with deviceInfo.
    let login_body = json!({"email": "ada@client.acme.io", "password": "Correct1horse",
        "deviceInfo": {"userAgent": "Mozilla/5.0", "deviceType": "DESKTOP", "os": "Linux", "browser": "Firefox"}});
    let login = json_reply(
        &client_call(app, None, "POST", "user/login", Some(&login_body)),
        200,
    );
    expires_soon(&login);
    assert_eq!(login["success"], true);
    assert_eq!(login["user"]["orgRole"], 255);
    assert_eq!(
        (
            &login["user"]["id"],
            &login["user"]["email"],
            &login["user"]["name"]
        ),
        (
            &signed_up["user"]["id"],
            &json!("ada@client.acme.io"),
            &json!("Ada Lovelace")
        )
    );
    let access = login["accessToken"].as_str().unwrap().to_owned();
    let refresh = login["refreshToken"].as_str().unwrap().to_owned();

    // getUserProfile, with the bearer the client now sends.
    let profile = json_reply(
        &client_call(app, Some(&access), "GET", "user/profile", None),
        200,
    );
    assert_eq!(
        profile["data"],
        json!({"id": signed_up["user"]["id"], "name": "Ada", "lastName": "Lovelace",
               "email": "ada@client.acme.io", "orgId": signed_up["user"]["orgId"], "orgRole": 255,
               "orgRoleDescription": "OWNER", "orgRoles": [255], "validated": true,
               "mfaRequired": false, "isBusiness": true})
    );

    // userRefresh sends {"refresh_token"}.
    let refreshed = json_reply(
        &client_call(
            app,
            Some(&access),
            "POST",
            "user/refresh",
            Some(&json!({"refresh_token": refresh})),
        ),
        200,
    );
    expires_soon(&refreshed);
    assert_eq!(refreshed["success"], true);
    assert_eq!(refreshed["token"], refreshed["accessToken"]);
    for field in ["accessToken", "refreshToken", "tokenId"] {
        assert!(refreshed[field].is_string(), "{field}");
    }
    let current = refreshed["refreshToken"].as_str().unwrap().to_owned();

    // userLogout: that sign-in's refresh token is dead; signing out again is the same.
    let out = client_call(
        app,
        Some(&access),
        "POST",
        "user/logout",
        Some(&json!({"refresh_token": current})),
    );
    assert_eq!(json_reply(&out, 200)["success"], true);
    let dead = client_call(
        app,
        None,
        "POST",
        "user/refresh",
        Some(&json!({"refresh_token": current})),
    );
    assert_eq!(dead.status, 401, "{}", dead.body);
    json_reply(
        &client_call(
            app,
            None,
            "POST",
            "user/logout",
            Some(&json!({"refreshToken": current})),
        ),
        200,
    );
    let forged = client_call(
        app,
        None,
        "POST",
        "user/logout",
        Some(&json!({"refresh_token": "not.a.token"})),
    );
    assert_eq!(forged.status, 401);
    assert_eq!(forged.json()["error_code"], "INVALID_TOKEN");
    // The client keeps the bearer of the sign-in that ended and sends it on every call:
    // logging in again and refreshing ignore it.
    let again = json_reply(
        &client_call(app, Some(&access), "POST", "user/login", Some(&login_body)),
        200,
    );
    let renewed = client_call(
        app,
        Some(&access),
        "POST",
        "user/refresh",
        Some(&json!({"refresh_token": again["refreshToken"]})),
    );
    assert_eq!(json_reply(&renewed, 200)["success"], true);

    // A colleague's sign-up answers as any: an organization of its own (the address is
    // not proved yet). Once verified, the colleague is a plain USER (0) of the company.
    let colleague = json_reply(
        &client_call(
            app,
            None,
            "POST",
            "user/register",
            Some(&signup_body("charles@client.acme.io", json!({}))),
        ),
        201,
    );
    assert_eq!(colleague["user"]["orgRole"], 255);
    assert_ne!(colleague["user"]["orgId"], signed_up["user"]["orgId"]);
    verify_by_email(app, "charles@client.acme.io");
    let credentials = json!({"email": "charles@client.acme.io", "password": "Correct1horse"});
    let joined = json_reply(
        &client_call(app, None, "POST", "user/login", Some(&credentials)),
        200,
    );
    assert_eq!(joined["user"]["orgRole"], 0);
    assert_eq!(joined["user"]["orgId"], signed_up["user"]["orgId"]);
}

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
