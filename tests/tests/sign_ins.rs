//! Sign-ins end to end: login, refresh rotation and what a retired token's return
//! means (also past its expiry), a sign-out or an ended sign-in never reported as theft, a weaker stored hash
//! upgraded at login, and `JWT_SECRET` rotated without signing anybody out (the races
//! between them, with D1 far away: d1_distance.rs; access tokens after their sign-in:
//! security_accounts.rs).
//!
//! Tests whose people are their own share one worker; a worker of their own for other
//! `[vars]`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse_core::account::tokens::issue_refresh;
use gatehouse_core::account::verification::token_hash;
use gatehouse_e2e::accounts::{assert_error, sign_up};
use gatehouse_e2e::flashback::{client_call, refresh_token_call};
use gatehouse_e2e::{dev_var, shared_app, spawn_app_with};
use serde_json::{json, Value};

#[test]
fn login_refresh_rotation_and_reuse_detection() {
    let app = shared_app();
    let signed_up = sign_up(app, "ada@acme-login.io");
    assert_error(
        &app.post_json(
            "/user/login",
            &json!({"email": "ada@acme-login.io", "password": "Wrong1horse"}),
        ),
        401,
        "INVALID_CREDENTIALS",
    );
    assert_error(
        &app.post_json(
            "/user/login",
            &json!({"email": "nobody@acme-login.io", "password": "Correct1horse"}),
        ),
        401,
        "INVALID_CREDENTIALS",
    );
    let login = app.post_json(
        "/user/login",
        &json!({"email": "ADA@acme-login.io", "password": "Correct1horse"}),
    );
    assert_eq!(login.status, 200, "{}", login.body);
    assert_eq!(
        login.json()["user"],
        signed_up["user"],
        "same body shape and user as sign-up"
    );

    let first = login.json()["refreshToken"].as_str().unwrap().to_owned();
    let rotated = app.post_json("/user/refresh", &json!({"refreshToken": first}));
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let second = rotated.json()["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    assert_ne!(rotated.json()["tokenId"], login.json()["tokenId"]);

    // The first token again: theft suspected, the whole family is revoked.
    assert_error(
        &app.post_json("/user/refresh", &json!({"refreshToken": first})),
        401,
        "TOKEN_REUSED",
    );
    assert_error(
        &app.post_json("/user/refresh", &json!({"refreshToken": second})),
        401,
        "TOKEN_REUSED",
    );
    // Other sign-ins (the sign-up's session) are unaffected.
    let other = signed_up["refreshToken"].as_str().unwrap();
    assert_eq!(
        app.post_json("/user/refresh", &json!({"refreshToken": other}))
            .status,
        200
    );

    // An access token is not a refresh token, and forgeries fail.
    let access = login.json()["accessToken"].as_str().unwrap().to_owned();
    assert_error(
        &app.post_json("/user/refresh", &json!({"refreshToken": access})),
        401,
        "INVALID_TOKEN",
    );
    let forged = format!("{}x", &second[..second.len() - 1]);
    assert_error(
        &app.post_json("/user/refresh", &json!({"refreshToken": forged})),
        401,
        "INVALID_TOKEN",
    );
}

/// A client shows a theft warning for TOKEN_REUSED: an ordinary end of a sign-in must
/// not look like one, and a retired token's use always does.
#[test]
fn a_refresh_after_an_ordinary_sign_out_is_not_reported_as_theft() {
    let app = shared_app();
    let email = "ada@ended-sign-ins.example";
    sign_up(app, email);
    let login = || {
        let res = app.post_json(
            "/user/login",
            &json!({"email": email, "password": "Correct1horse"}),
        );
        assert_eq!(res.status, 200, "{}", res.body);
        res.json()
    };
    let refresh = |token: &Value| app.post_json("/user/refresh", &json!({"refresh_token": token}));
    // Logout, then the same refresh token: the sign-in ended.
    let laptop = login();
    let out = app.post_json(
        "/user/logout",
        &json!({"refresh_token": laptop["refreshToken"]}),
    );
    assert_eq!(out.status, 200, "{}", out.body);
    assert_error(&refresh(&laptop["refreshToken"]), 401, "SESSION_ENDED");
    // Ended from another device (DELETE /token/{id}) after a rotation: its current token.
    let phone = login();
    let rotated = refresh(&phone["refreshToken"]);
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let rotated = rotated.json();
    let other = login();
    let access = other["accessToken"].as_str().unwrap();
    let ended = app.request_as(
        access,
        "DELETE",
        &format!("/token/{}", phone["tokenId"].as_str().unwrap()),
        None,
    );
    assert_eq!(ended.status, 200, "{}", ended.body);
    assert_error(&refresh(&rotated["refreshToken"]), 401, "SESSION_ENDED");
    // A retired token coming back is still reuse, and ends the sign-in as reuse.
    let tablet = login();
    let next = refresh(&tablet["refreshToken"]).json();
    assert_error(&refresh(&tablet["refreshToken"]), 401, "TOKEN_REUSED");
    assert_error(&refresh(&next["refreshToken"]), 401, "TOKEN_REUSED");
    // So is a retired token that signs out: whoever holds it is not the client that
    // holds the current one, which is told so at its next refresh.
    let watch = login();
    let current = refresh(&watch["refreshToken"]).json();
    let out = app.post_json(
        "/user/logout",
        &json!({"refresh_token": watch["refreshToken"]}),
    );
    assert_eq!(out.status, 200, "{}", out.body);
    assert_error(&refresh(&current["refreshToken"]), 401, "TOKEN_REUSED");
}

/// `token` as it will be once its 30 days are over: the same claims (user, token id,
/// sign-in), issued 31 days before now with the worker's own JWT_SECRET — what a
/// client holds after a month away, without moving the shared worker's clock.
fn past_its_expiry(token: &Value) -> String {
    let payload = token.as_str().unwrap().split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let claim = |name: &str| claims[name].as_str().unwrap().to_owned();
    let now_ms = gatehouse_e2e::nodes::now_ms();
    issue_refresh(
        dev_var("JWT_SECRET").as_bytes(),
        &claim("sub"),
        &claim("jti"),
        &claim("sid"),
        now_ms - 31 * 24 * 3600 * 1000,
    )
}

/// Whoever copied a refresh token and keeps refreshing it keeps that sign-in alive for
/// good; the owner's own token, which the thief's first refresh retired, is what tells.
/// After its 30 days it refreshes nothing, but it is reuse all the same: it ends the
/// sign-in the thief holds, through refresh and through logout, as the Flashback client
/// sends them. The sign-in's current token past its expiry ends nothing.
#[test]
fn a_retired_token_past_its_expiry_still_ends_the_sign_in_it_was_taken_from() {
    let app = shared_app();
    let email = "ada@stale-tokens.example";
    sign_up(app, email);
    let login = || {
        let res = client_call(
            app,
            None,
            "POST",
            "user/login",
            Some(&json!({"email": email, "password": "Correct1horse"})),
        );
        assert_eq!(res.status, 200, "{}", res.body);
        res.json()
    };
    let refresh = |token: &Value| refresh_token_call(app, "user/refresh", token);
    let refreshed = |token: &Value| {
        let res = refresh(token);
        assert_eq!(res.status, 200, "{}", res.body);
        res.json()
    };
    let profile =
        |access: &Value| client_call(app, access.as_str(), "GET", "user/profile", None).status;

    // Refresh: the thief rotated the owner's token twice since; the owner's, a month on.
    let owner = login();
    let thief = refreshed(&refreshed(&owner["refreshToken"])["refreshToken"]);
    assert_eq!(profile(&thief["accessToken"]), 200);
    let stale = json!(past_its_expiry(&owner["refreshToken"]));
    assert_error(&refresh(&stale), 401, "TOKEN_REUSED");
    assert_error(&refresh(&thief["refreshToken"]), 401, "TOKEN_REUSED");
    assert_eq!(
        profile(&thief["accessToken"]),
        401,
        "the thief's access ends too"
    );

    // Logout: the owner signs out with the old token; the thief's refresh is told why.
    let owner = login();
    let thief = refreshed(&owner["refreshToken"]);
    let stale = json!(past_its_expiry(&owner["refreshToken"]));
    let out = refresh_token_call(app, "user/logout", &stale);
    assert_eq!(out.status, 200, "{}", out.body);
    assert_error(&refresh(&thief["refreshToken"]), 401, "TOKEN_REUSED");
    assert_eq!(profile(&thief["accessToken"]), 401);

    // The sign-in's own current token past its expiry (the row holds the hash of the
    // token it issued, so the aged one is made its current): expired, nothing ended.
    let owner = login();
    let aged = past_its_expiry(&owner["refreshToken"]);
    app.d1_query(&format!(
        "UPDATE sign_ins SET token_hash = '{}' WHERE id = '{}'",
        token_hash(&aged),
        owner["tokenId"].as_str().unwrap()
    ));
    assert_error(&refresh(&json!(aged)), 401, "TOKEN_EXPIRED");
    assert_eq!(profile(&owner["accessToken"]), 200);
}

#[test]
fn login_upgrades_a_hash_weaker_than_the_config() {
    let app = spawn_app_with(&[("PASSWORD_KDF_ITERATIONS", "2000")]);
    sign_up(&app, "ada@acme.io");
    let weak = gatehouse_core::crypto::password::hash(
        b"Correct1horse",
        gatehouse_core::config::KdfHash::Sha256,
        1000,
    )
    .unwrap();
    app.d1_query(&format!("UPDATE users SET password_hash = '{weak}'"));
    let login = || {
        app.post_json(
            "/user/login",
            &json!({"email": "ada@acme.io", "password": "Correct1horse"}),
        )
        .status
    };
    assert_eq!(login(), 200);
    let stored = app.d1_query("SELECT password_hash FROM users")[0]["password_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(stored.starts_with("$pbkdf2-sha512$i=2000$"), "{stored}");
    assert_eq!(login(), 200);
}

/// Rotating JWT_SECRET signs nobody out: with the old one as JWT_SECRET_PREVIOUS its
/// tokens keep working until they expire, and a refresh moves them to the new one;
/// once the previous secret is removed, they no longer verify.
#[test]
fn rotating_the_jwt_secret_signs_nobody_out() {
    let old = "old-secret-0123456789abcdef-0123456789";
    let new = "new-secret-fedcba9876543210-fedcba9876";
    let mut app = spawn_app_with(&[("JWT_SECRET", old)]);
    let signed_up = sign_up(&app, "ada@rotation.example");
    let access = signed_up["accessToken"].as_str().unwrap().to_owned();
    let profile = |app: &gatehouse_e2e::TestApp, token: &str| {
        app.request_as(token, "GET", "/user/profile", None).status
    };
    assert_eq!(profile(&app, &access), 200);

    // /health names the secrets by id, as openssl computes them from the values
    // (docs/deploying.md, "Rotating JWT_SECRET"): the operator sees the rotation land.
    let key_ids = |app: &gatehouse_e2e::TestApp| app.get("/health").json()["keyIds"].clone();
    assert_eq!(key_ids(&app)["jwt"], "08dfdaebfdcf6f05");
    assert_eq!(key_ids(&app)["jwtPrevious"], json!(null));
    app.restart_with(&[("JWT_SECRET", new), ("JWT_SECRET_PREVIOUS", old)]);
    assert_eq!(key_ids(&app)["jwt"], "19505b7396488af7");
    assert_eq!(key_ids(&app)["jwtPrevious"], "08dfdaebfdcf6f05");
    assert_eq!(
        profile(&app, &access),
        200,
        "an old access token still works"
    );
    let refreshed = app.post_json(
        "/user/refresh",
        &json!({"refresh_token": signed_up["refreshToken"]}),
    );
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let moved = refreshed.json()["accessToken"].as_str().unwrap().to_owned();

    app.restart_with(&[("JWT_SECRET", new)]);
    assert_error(
        &app.request_as(&access, "GET", "/user/profile", None),
        401,
        "UNAUTHORIZED",
    );
    assert_eq!(
        profile(&app, &moved),
        200,
        "the refreshed token is the new secret's"
    );
}
