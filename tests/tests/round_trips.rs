//! D1 round trips per request, counted by the store layer (reported only with
//! TEST_HOOKS on) and held to each route's budget on its happy path: round trips to
//! the primary (what distance costs) and in all (replica reads included).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_e2e::nodes::{fields, now_ms, seed_org, signed};
use gatehouse_e2e::{spawn_app, TestResponse};
use serde_json::json;

#[test]
fn each_route_stays_within_its_d1_round_trip_budget() {
    let app = spawn_app();
    let mut report = Vec::new();
    // Budgets: (round trips to the primary, round trips in all).
    let mut check = |name: &str, res: TestResponse, status: u16, budget: (u32, u32)| {
        assert_eq!(res.status, status, "{name}: {}", res.body);
        let (primary, all) = res.d1_round_trips();
        report.push(format!("{name}: {primary} primary / {all}"));
        assert!(
            primary <= budget.0 && all <= budget.1,
            "{name} used {primary} primary / {all} D1 round trips, budget {budget:?}"
        );
    };

    let secret = json!({"node_id": "n1", "secret": "0123456789abcdef"});
    // A new node_id: the read (a replica may answer), then the insert on the primary
    // (hashing only once it is known new); again: the read, then the secret counted as
    // a guess on the primary before it is compared, and the count given back.
    check(
        "register_node_secret (new)",
        app.post_json("/register_node_secret", &secret),
        200,
        (1, 2),
    );
    check(
        "register_node_secret (again)",
        app.post_json("/register_node_secret", &secret),
        200,
        (2, 3),
    );

    let key = seed_org(&app, "org-1", 2048);
    let body = signed(&key, &fields("192.0.2.1", now_ms(), Some("org-1")));
    // Cold (this isolate has not verified the node): read, then write. Warm: the one
    // conditional write.
    check(
        "register (cold)",
        app.post_json("/register", &body),
        200,
        (2, 2),
    );
    let again = signed(&key, &fields("192.0.2.1", now_ms() + 1, None));
    check(
        "register (warm)",
        app.post_json("/register", &again),
        200,
        (1, 1),
    );
    let ts = now_ms() + 2;
    let message = format!("gatehouse-node-unregister-v1\n192.0.2.1\n{ts}\n");
    let unregister = json!({"ip": "192.0.2.1", "timestamp": ts,
        "signature": STANDARD.encode(key.sign(message.as_bytes()))});
    check(
        "unregister",
        app.post_json("/unregister", &unregister),
        200,
        (2, 2),
    );

    let signup = json!({"email": "ada@acme.io", "password": "Correct1horse", "firstName": "Ada",
                        "lastName": "Lovelace", "companyName": "Acme", "isBusiness": true});
    let signed_up = app.post_json("/user/register", &signup);
    let signup_access = signed_up.json()["accessToken"].as_str().unwrap().to_owned();
    check("user/register", signed_up, 201, (1, 2));
    // The link is read before the KDF runs, the attempt counted (as a login's), then
    // the link used in one batch.
    let link = app.wait_for_emails("ada@acme.io", 1)[0]
        .first_link()
        .unwrap();
    let verify = json!({"token": link.rsplit('=').next().unwrap(), "password": "Correct1horse"});
    check(
        "user/verify-email",
        app.post_json("/user/verify-email", &verify),
        200,
        (3, 3),
    );
    let login = app.post_json(
        "/user/login",
        &json!({"email": "ada@acme.io", "password": "Correct1horse"}),
    );
    let refresh = login.json()["refreshToken"].as_str().unwrap().to_owned();
    // The attempt counted before the password check, then the sign-in.
    check("user/login", login, 200, (2, 3));
    let refreshed = app.post_json("/user/refresh", &json!({"refreshToken": refresh}));
    let access = refreshed.json()["accessToken"].as_str().unwrap().to_owned();
    let rotated = refreshed.json()["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    check("user/refresh", refreshed, 200, (2, 2));
    check(
        "user/profile",
        app.request_as(&access, "GET", "/user/profile", None),
        200,
        (0, 1),
    );
    check(
        "user/logout",
        app.post_json("/user/logout", &json!({"refresh_token": rotated})),
        200,
        (1, 1),
    );
    // The logged-out sign-in's access token is refused in the same one round trip.
    check(
        "user/profile (signed out)",
        app.request_as(&access, "GET", "/user/profile", None),
        401,
        (0, 1),
    );
    // The sign-up's sign-in is still live.
    check(
        "token (list)",
        app.request_as(&signup_access, "GET", "/token", None),
        200,
        (0, 1),
    );
    let signup_token = app
        .d1_query("SELECT token_id AS id FROM sign_ins WHERE ended_at_ms IS NULL")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    check(
        "token (revoke)",
        app.request_as(
            &signup_access,
            "DELETE",
            &format!("/token/{signup_token}"),
            None,
        ),
        200,
        (1, 1),
    );
    check(
        "user/pre-verify-email",
        app.post_json("/user/pre-verify-email", &json!({"token": "unknown"})),
        400,
        (1, 1),
    );
    // One batch, whether or not an account has the address.
    check(
        "user/request-reset-password",
        app.post_json(
            "/user/request-reset-password",
            &json!({"email": "ada@acme.io"}),
        ),
        200,
        (1, 1),
    );
    check(
        "user/reset-password",
        app.post_json(
            "/user/reset-password",
            &json!({"token": "unknown", "newPassword": "Another1horse"}),
        ),
        400,
        (1, 1),
    );
    println!("D1 round trips per request: {}", report.join(", "));
}
