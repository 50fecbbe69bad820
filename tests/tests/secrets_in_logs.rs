//! Secrets never reach the log: after every flow that handles one (sign-up, login,
//! refresh, verification, node secret, generated private key, failures of each), the
//! captured wrangler/worker log contains none of them.

use gatehouse_e2e::accounts::{signup_body, verified_user};
use gatehouse_e2e::spawn_app;
use serde_json::json;

#[test]
fn no_password_secret_token_or_private_key_in_the_log() {
    let app = spawn_app();
    let password = "Sup3r-secret-passphrase";
    let node_secret = "node-secret-9f8e7d6c5b4a";
    let mut secrets: Vec<String> = vec![password.into(), node_secret.into()];

    let res = app.post_json(
        "/user/register",
        &signup_body("ada@acme.io", json!({"password": password})),
    );
    assert_eq!(res.status, 201);
    for field in ["accessToken", "refreshToken"] {
        secrets.push(res.json()[field].as_str().unwrap().to_owned());
    }
    let link = app.wait_for_emails("ada@acme.io", 1)[0]
        .first_link()
        .unwrap();
    secrets.push(link.rsplit('=').next().unwrap().to_owned());
    assert_eq!(
        gatehouse_e2e::accounts::open_and_confirm_with(
            &app,
            link.strip_prefix(&app.base_url).unwrap(),
            password
        )
        .status,
        200
    );

    let login = app.post_json(
        "/user/login",
        &json!({"email": "ada@acme.io", "password": password}),
    );
    let refresh = login.json()["refreshToken"].as_str().unwrap().to_owned();
    secrets.push(refresh.clone());
    let rotated = app.post_json("/user/refresh", &json!({"refreshToken": refresh}));
    secrets.push(rotated.json()["refreshToken"].as_str().unwrap().to_owned());
    // Failures log too: wrong password, reused refresh token, wrong node secret.
    app.post_json(
        "/user/login",
        &json!({"email": "ada@acme.io", "password": "Wrong-passw0rd-value"}),
    );
    secrets.push("Wrong-passw0rd-value".into());
    app.post_json("/user/refresh", &json!({"refreshToken": refresh}));
    app.post_json(
        "/register_node_secret",
        &json!({"node_id": "n1", "secret": node_secret}),
    );
    app.post_json(
        "/register_node_secret",
        &json!({"node_id": "n1", "secret": "another-node-secret-value"}),
    );
    secrets.push("another-node-secret-value".into());

    let (token, org, _) = verified_user(&app, "bob@navy.mil");
    let auth = format!("Bearer {token}");
    let generated = app.request(
        "POST",
        &format!("/organization/{org}/key"),
        &[
            ("authorization", &auth),
            ("accept", "application/x-pem-file"),
        ],
        None,
    );
    assert_eq!(generated.status, 201);
    // The base64 body of the private key, line by line.
    secrets.extend(
        generated
            .body
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .map(str::to_owned),
    );

    // Let trailing log lines arrive (the last request's own line, and what its notice
    // to Bob printed after the answer), then look.
    let last_id = generated.header("x-request-id").expect("x-request-id");
    let last_line = format!(r#""requestId":"{last_id}""#);
    app.wait_for_emails("bob@navy.mil", 2);
    let log = app.wait_for_log(&last_line);
    assert!(log.contains(&last_line), "the last request's line arrived");
    assert!(log.contains("POST /user/login"), "the log was captured");
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "a secret reached the log: {secret:.12}…"
        );
    }

    // The worker's own line per request (docs/operations.md) is there for each of
    // them, and names no email address either (wrangler's local mail simulation
    // prints recipients on its own lines; ours never do).
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"msg\":\"request\""))
        .collect();
    assert!(lines.len() >= 14, "one line per request: {}", lines.len());
    for line in &lines {
        for address in ["ada@acme.io", "bob@navy.mil", "@"] {
            assert!(
                !line.contains(address),
                "an email address in a log line: {line}"
            );
        }
        assert!(
            !line.contains("/organization/"),
            "raw paths carry ids: {line}"
        );
    }
}
