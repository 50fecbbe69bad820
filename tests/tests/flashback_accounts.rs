//! The Flashback client's account calls, sent as `makeRequest` sends them
//! (tests/src/flashback.rs): sign-up with its extra fields, resend by link id, login,
//! refresh with `refresh_token`, logout, profile; roles as Flashback's numbers. The
//! sign-in's lifetimes (logout racing refresh, the session list, an expired access
//! token) are in flashback_sessions.rs.
//!
//! All on one shared worker: each test has its own people at a domain of its own.

use gatehouse_e2e::accounts::{signup_body, verify_by_email};
use gatehouse_e2e::flashback::{client_call, json_reply};
use gatehouse_e2e::nodes::now_ms;
use gatehouse_e2e::shared_app;
use serde_json::{json, Value};

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
