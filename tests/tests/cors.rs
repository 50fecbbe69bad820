//! The CORS policy: none by default; exact allowed origins when configured.

use gatehouse_e2e::{spawn_app, spawn_app_with};
use serde_json::json;

const APP: &str = "https://app.example.com";

#[test]
fn allowed_origins_get_preflight_and_response_headers_others_get_none() {
    let app = spawn_app_with(&[(
        "CORS_ALLOWED_ORIGINS",
        "https://app.example.com, http://localhost:5173",
    )]);
    let preflight = app.request(
        "OPTIONS",
        "/organization/abc/key",
        &[
            ("origin", APP),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "authorization"),
        ],
        None,
    );
    assert_eq!(preflight.status, 204, "{}", preflight.body);
    assert_eq!(preflight.header("access-control-allow-origin"), Some(APP));
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("POST, GET, DELETE"),
        "the path's methods: add a key, list keys, revoke them all"
    );
    let allowed = preflight.header("access-control-allow-headers").unwrap();
    assert!(allowed.contains("authorization"));
    assert!(
        allowed.contains("x-d1-bookmark"),
        "browsers may send bookmarks back"
    );
    assert_eq!(preflight.header("vary"), Some("Origin"));

    let login = app.request(
        "POST",
        "/user/login",
        &[("origin", APP), ("content-type", "application/json")],
        Some(
            json!({"email": "a@b.co", "password": "x"})
                .to_string()
                .as_bytes(),
        ),
    );
    assert_eq!(login.status, 401);
    assert_eq!(
        login.header("access-control-allow-origin"),
        Some(APP),
        "errors are readable by the app too"
    );
    let exposed = login.header("access-control-expose-headers").unwrap();
    assert!(
        exposed.contains("x-request-id") && exposed.contains("x-d1-bookmark"),
        "{exposed}"
    );

    let evil = app.request(
        "POST",
        "/user/login",
        &[("origin", "https://evil.example.com")],
        Some(b"{}"),
    );
    assert_eq!(evil.header("access-control-allow-origin"), None);
    let evil_preflight = app.request(
        "OPTIONS",
        "/user/login",
        &[
            ("origin", "https://evil.example.com"),
            ("access-control-request-method", "POST"),
        ],
        None,
    );
    assert_eq!(evil_preflight.status, 405);
    assert_eq!(evil_preflight.header("access-control-allow-origin"), None);
}

#[test]
fn no_cors_headers_by_default() {
    let app = spawn_app();
    let res = app.request("GET", "/health", &[("origin", APP)], None);
    assert_eq!(res.status, 200);
    assert_eq!(res.header("access-control-allow-origin"), None);
}
