//! Security round 3, the account side: what leaks around an answer — side effects
//! that tell an existing account, framing and cross-site posts of the link pages, D1
//! bookmarks. Each test sends the outside review's requests (SECURITY.md names each), on one
//! shared worker, each with an email domain of its own.

use gatehouse_e2e::accounts::{
    form_encode, link_token, login_at, open_and_confirm, sign_up, signup_body, verification_path,
    PASSWORD,
};
use gatehouse_e2e::{shared_app, TestResponse};
use serde_json::json;

/// (primary, replica) round trips of an answer.
fn trips(res: &TestResponse) -> (String, String) {
    let get = |h: &str| res.header(h).unwrap_or_else(|| panic!("{h}")).to_owned();
    (get("x-gatehouse-d1-primary"), get("x-gatehouse-d1-replica"))
}

#[test]
fn an_existing_account_cannot_be_told_by_side_effects() {
    let app = shared_app();
    sign_up(app, "ada@side-effects.example");
    let pairs = [
        (
            "/user/login",
            json!({"email": "ada@side-effects.example", "password": "Wrong1horse"}),
            json!({"email": "nobody@side-effects.example", "password": "Wrong1horse"}),
        ),
        (
            "/user/request-reset-password",
            json!({"email": "ada@side-effects.example"}),
            json!({"email": "nobody@side-effects.example"}),
        ),
        (
            "/user/resend-verification",
            json!({"email": "ada@side-effects.example"}),
            json!({"email": "nobody@side-effects.example"}),
        ),
    ];
    // Resend waits a minute between links; the sign-up's link is older than that now.
    app.d1_query(
        "UPDATE email_verifications SET created_at_ms = created_at_ms - 120000 \
         WHERE user_id = (SELECT id FROM users WHERE email = 'ada@side-effects.example')",
    );
    for (path, existing, unknown) in pairs {
        let (a, b) = (
            app.post_json(path, &existing),
            app.post_json(path, &unknown),
        );
        assert_eq!((a.status, &a.body), (b.status, &b.body), "{path}");
        assert_eq!(trips(&a), trips(&b), "{path}: the same round trips");
        for res in [&a, &b] {
            assert!(res.header("x-d1-bookmark").is_none(), "{path}: no bookmark");
        }
    }
    // The existing account's requests did their work (a link each went out).
    assert_eq!(app.wait_for_emails("ada@side-effects.example", 3).len(), 3);
    assert!(app.emails_to("nobody@side-effects.example").is_empty());
}

#[test]
fn link_pages_cannot_be_framed_leak_no_token_and_refuse_other_sites_forms() {
    let app = shared_app();
    sign_up(app, "ada@link-pages.example");
    let path = verification_path(app, "ada@link-pages.example");
    for page in [app.get(&path), app.get("/user/reset-password?token=t")] {
        assert_eq!(page.status, 200);
        let csp = page.header("content-security-policy").unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        // The token goes in a Referer to the worker only (a browser then sends the
        // page's Origin with the form, not `null`: tests/browser/pages.mjs).
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    }

    // A page on another site posts the form (with the right token and password, as an
    // attacker who signed up with an address they own could): refused, nothing used.
    let form = format!(
        "token={}&password={}",
        link_token(&path),
        form_encode(PASSWORD)
    );
    let from = |headers: &[(&str, &str)]| {
        let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        app.request("POST", "/user/verify-email", &all, Some(form.as_bytes()))
    };
    for headers in [
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
    ] {
        let res = from(&headers);
        assert_eq!(res.status, 403, "{headers:?}: {}", res.body);
        assert!(res.header("content-type").unwrap().starts_with("text/html"));
    }
    let reset = app.request(
        "POST",
        "/user/reset-password",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", "https://evil.example"),
        ],
        Some(b"token=t&newPassword=Another1horse"),
    );
    assert_eq!(reset.status, 403, "{}", reset.body);
    // The same fields as JSON in a `text/plain` body, which a foreign page can post
    // (`enctype="text/plain"`, or fetch) without a preflight: refused as well.
    let json_fields = json!({"token": link_token(&path), "password": PASSWORD}).to_string();
    for (route, headers) in [
        (
            "/user/verify-email",
            vec![("origin", "https://evil.example")],
        ),
        ("/user/verify-email", vec![("sec-fetch-site", "cross-site")]),
        (
            "/user/reset-password",
            vec![("origin", "https://evil.example")],
        ),
    ] {
        let mut all = vec![("content-type", "text/plain;charset=UTF-8")];
        all.extend_from_slice(&headers);
        let res = app.request("POST", route, &all, Some(json_fields.as_bytes()));
        assert_eq!(res.status, 403, "{route} {headers:?}: {}", res.body);
    }
    assert!(app
        .d1_query("SELECT email_verified_at_ms FROM users WHERE email = 'ada@link-pages.example'")
        [0]["email_verified_at_ms"]
        .is_null());
    // The page's own form, as a browser sends it from the page, goes through.
    let own = from(&[
        ("origin", app.base_url.as_str()),
        ("sec-fetch-site", "same-origin"),
    ]);
    assert_eq!(own.status, 200, "{}", own.body);
}

#[test]
fn bookmarks_go_only_to_signed_in_callers_and_never_echo_a_forged_one() {
    let app = shared_app();
    let signed_up = app.post_json(
        "/user/register",
        &signup_body("ada@bookmarks.example", json!({})),
    );
    assert_eq!(signed_up.status, 201);
    let path = verification_path(app, "ada@bookmarks.example");
    let anonymous = [
        signed_up,
        login_at(app, "198.51.100.1", "ada@bookmarks.example", PASSWORD),
        app.post_json(
            "/user/pre-verify-email",
            &json!({"token": link_token(&path)}),
        ),
        open_and_confirm(app, &path),
        app.post_json("/user/resend-verification", &json!({"email": "a@b.co"})),
    ];
    for res in &anonymous {
        assert!(res.status < 300, "{}", res.body);
        assert!(res.header("x-d1-bookmark").is_none(), "{}", res.body);
    }
    let login = login_at(app, "198.51.100.1", "ada@bookmarks.example", PASSWORD);
    assert_eq!(login.status, 200, "{}", login.body);
    let token = login.json()["accessToken"].as_str().unwrap().to_owned();
    let org = login.json()["user"]["orgId"].as_str().unwrap().to_owned();
    let listed = app.request_as(&token, "GET", "/token", None);
    assert_eq!(listed.status, 200);
    assert!(listed.header("x-d1-bookmark").is_some(), "a signed-in read");
    let forged = "ffffffff-ffffffff-ffffffff-ffffffffffffffffffffffffffffffff";
    let auth = format!("Bearer {token}");
    let res = app.request(
        "GET",
        &format!("/organization/{org}/key"),
        &[("authorization", &auth), ("x-d1-bookmark", forged)],
        None,
    );
    assert_eq!(res.status, 200, "{}", res.body);
    assert_ne!(res.header("x-d1-bookmark"), Some(forged));
}
