//! Faults: when a dependency fails, nothing is lost and the client gets a clear answer.

use gatehouse_e2e::accounts::{sign_up, verify_by_email};
use gatehouse_e2e::spawn_app_with;
use serde_json::json;

#[test]
fn a_refused_verification_email_keeps_the_account_and_resend_recovers() {
    // The binding only sends as the configured sender; another MAIL_FROM is refused.
    let mut app = spawn_app_with(&[("MAIL_FROM", "someone-else@gatehouse.localhost")]);
    let body = sign_up(&app, "ada@acme.io");
    assert_eq!(
        body["success"], true,
        "the sign-up answer does not wait for the mail"
    );
    // Mail goes out after the answer: its own line (and data point) tells the operator,
    // with a code and no address.
    let log = app.wait_for_log("\"msg\":\"mail_not_sent\"");
    let line = log
        .lines()
        .find(|l| l.contains("\"msg\":\"mail_not_sent\""))
        .expect("the failure's line");
    assert!(line.contains("\"mail\":\"verification\""), "{line}");
    assert!(line.contains("\"errorCode\":\""), "{line}");
    assert!(
        !line.contains("ada@") && !line.contains("someone-else@"),
        "{line}"
    );
    assert!(app.emails_to("ada@acme.io").is_empty());
    assert_eq!(
        app.d1_query("SELECT count(*) AS n FROM users")[0]["n"],
        1,
        "the account exists"
    );

    // The operator fixes the sender; the user asks for a new link and verifies.
    app.restart_with(&[]);
    app.d1_query("UPDATE email_verifications SET created_at_ms = created_at_ms - 120000");
    let res = app.post_json(
        "/user/resend-verification",
        &json!({"email": "ada@acme.io"}),
    );
    assert_eq!(res.status, 202, "{}", res.body);
    verify_by_email(&app, "ada@acme.io");
    let login = app.post_json(
        "/user/login",
        &json!({"email": "ada@acme.io", "password": "Correct1horse"}),
    );
    assert_eq!(login.status, 200);
}

/// Makes inserts into `table` fail inside D1, as a storage fault would.
fn break_inserts(app: &gatehouse_e2e::TestApp, table: &str) {
    app.d1_query(&format!(
        "CREATE TRIGGER injected_fault BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'injected fault'); END;"
    ));
}

fn repair(app: &gatehouse_e2e::TestApp) {
    app.d1_query("DROP TRIGGER injected_fault");
}

#[test]
fn a_d1_failure_mid_sign_up_leaves_no_partial_rows() {
    let app = spawn_app_with(&[]);
    // The batch writes the organization first and fails on the trial.
    break_inserts(&app, "subscriptions");
    let body = gatehouse_e2e::accounts::signup_body("ada@acme.io", json!({}));
    let res = app.post_json("/user/register", &body);
    assert_eq!(res.status, 500, "{}", res.body);
    assert_eq!(
        res.server_error_body(),
        json!({"success": false, "error_code": "INTERNAL_ERROR", "message": "Internal Server Error"})
    );
    assert!(!res.body.contains("injected"), "no internals in the answer");
    let counts = app.d1_query(
        "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM organizations) + \
         (SELECT count(*) FROM org_members) + (SELECT count(*) FROM sign_ins) AS n",
    );
    assert_eq!(counts[0]["n"], 0, "the atomic batch left nothing behind");
    repair(&app);
    assert_eq!(
        app.post_json("/user/register", &body).status,
        201,
        "the same sign-up works once D1 does"
    );
}

#[test]
fn a_d1_failure_during_register_does_not_burn_the_signature() {
    let app = spawn_app_with(&[]);
    let key = gatehouse_e2e::nodes::seed_org(&app, "org-f", 2048);
    let f =
        gatehouse_e2e::nodes::fields("192.0.2.77", gatehouse_e2e::nodes::now_ms(), Some("org-f"));
    let body = gatehouse_e2e::nodes::signed(&key, &f);

    break_inserts(&app, "nodes");
    let res = app.post_json("/register", &body);
    assert_eq!(
        (res.status, res.server_error_body()),
        (
            500,
            json!({"success": false, "message": "Registration failed"})
        )
    );
    repair(&app);
    let retry = app.post_json("/register", &body);
    assert_eq!(
        retry.status, 200,
        "the node's retry of the same signed request succeeds: {}",
        retry.body
    );
    assert_eq!(
        app.post_json("/register", &body).status,
        400,
        "and only once"
    );
}

#[test]
fn register_fails_closed_when_kv_is_unavailable() {
    // No NONCES namespace at all: every replay check fails, as in a KV outage.
    let app = gatehouse_e2e::spawn_app_without_binding("NONCES", &[]);
    use gatehouse_e2e::nodes::{fields, now_ms, seed_org, signed};
    let key = seed_org(&app, "acme", 2048);
    let body = signed(&key, &fields("203.0.113.7", now_ms(), Some("acme")));

    let res = app.post_json("/register", &body);
    assert_eq!(res.status, 503, "{}", res.body);
    assert_eq!(res.header("retry-after"), Some("30"));
    assert_eq!(
        res.server_error_body(),
        json!({
            "success": false,
            "message": "Replay protection is unavailable; nothing was stored. Retry after 30 seconds"
        })
    );
    assert_eq!(
        app.d1_query("SELECT count(*) AS n FROM nodes")[0]["n"],
        0,
        "no registration is accepted without replay protection"
    );
    // /unregister and the installer's /secrets make the same check first, and fail
    // closed the same way: a node there is not removed.
    use gatehouse_e2e::nodes::{installer_body, node_row_sql, unregister_body};
    app.d1_query(&node_row_sql("acme", "203.0.113.7", "acme-key", now_ms()));
    let unregister = unregister_body(&key, "203.0.113.7", now_ms(), "acme");
    let secrets = installer_body(&key, "203.0.113.7", now_ms() / 1000, "acme");
    for (path, body) in [("/unregister", unregister), ("/secrets", secrets)] {
        let res = app.post_json(path, &body);
        assert_eq!(res.status, 503, "{path}: {}", res.body);
        assert_eq!(res.header("retry-after"), Some("30"), "{path}");
        assert!(
            res.body.contains("Replay protection is unavailable"),
            "{path}: {}",
            res.body
        );
    }
    assert_eq!(
        app.d1_query("SELECT count(*) AS n FROM nodes")[0]["n"],
        1,
        "the node stays"
    );
    let log = app.wait_for_log("storage: NONCES binding");
    assert!(log.contains("storage: NONCES binding"), "{log}");
    // The rest of the service does not depend on KV.
    let health = app.get("/health");
    assert_eq!(health.status, 503, "{}", health.body);
    assert_eq!(health.json()["checks"]["kv"], "error", "{}", health.body);
    let retry_after: u32 = health
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((10..=40).contains(&retry_after), "{retry_after}");
}

#[test]
fn a_deploy_without_a_rate_limiter_keeps_the_others_and_says_so_once() {
    // A release's new limiter not yet filled in (docs/deploying.md): its count is off,
    // the others still count, and the log says so once, not on every request.
    let app =
        gatehouse_e2e::spawn_app_without_binding("NODE_FLEET_LIMITER", &[("RATE_LIMITS", "on")]);
    let post = |ip: &str| {
        app.request(
            "POST",
            "/register",
            &[
                ("content-type", "application/json"),
                ("cf-connecting-ip", ip),
            ],
            Some(b"{}"),
        )
    };
    // The address's own budget (NODE_LIMITER) still holds: the 61st is refused (asked
    // within the burst's window).
    let (_, last) = gatehouse_e2e::rate_window::in_one_window(20, |attempt| {
        let ip = format!("2001:db8:{:x}:1::1", 0x900 + attempt);
        for i in 0..60 {
            assert_eq!(post(&ip).status, 400, "request {i} from {ip}");
        }
        post(&ip).status
    });
    assert_eq!(last, 429);
    let log = app.wait_for_log(r#""limiter":"NODE_LIMITER""#);
    assert_eq!(
        log.matches("rate limiter NODE_FLEET_LIMITER unavailable")
            .count(),
        1,
        "{log}"
    );
}

/// A sweep D1 refuses on every run stops no other: here the unverified accounts' batch
/// fails at commit, for a row of a table the sweeps do not know holding a foreign key
/// into the account it removes (what a migration that forgot the account lists, or a
/// statement past D1's limits, would do). The round is made again a sweep at a time:
/// the others remove what they must, the line names the one that failed, and the
/// account is kept whole (its batch is one transaction).
#[test]
fn a_sweep_that_fails_every_time_stops_no_other() {
    use gatehouse_e2e::accounts::user_id;
    use gatehouse_e2e::maintenance::{
        count, maintenance_lines, trigger_cron, wait_for_runs, DAY, MINUTE,
    };
    use gatehouse_e2e::nodes::now_ms;
    let app = gatehouse_e2e::spawn_app();
    let doomed = "ada@held-by-a-key.example";
    sign_up(&app, doomed);
    let doomed_id = user_id(&app, doomed);
    let long_ago = now_ms() - 31 * DAY;
    app.d1_query(&format!(
        "UPDATE users SET created_at_ms = {long_ago} WHERE id = '{doomed_id}'; \
         UPDATE email_verifications SET created_at_ms = {long_ago}, \
         expires_at_ms = {long_ago} + {DAY} WHERE user_id = '{doomed_id}'; \
         CREATE TABLE unswept_hold (user_id TEXT NOT NULL REFERENCES users (id)); \
         INSERT INTO unswept_hold VALUES ('{doomed_id}')"
    ));
    // What another sweep must remove meanwhile: a closed failure window of someone else.
    sign_up(&app, "bob@kept.example");
    let bob = user_id(&app, "bob@kept.example");
    app.d1_query(&format!(
        "INSERT INTO login_failures (user_id, network, failures, window_start_ms) \
         VALUES ('{bob}', 'net-closed', 3, {})",
        now_ms() - 20 * MINUTE
    ));

    let before = maintenance_lines(&app).len();
    trigger_cron(&app);
    let line = wait_for_runs(&app, before + 1)[before].clone();
    assert_eq!(line["error"], "storage", "{line}");
    assert_eq!(line["failed"], json!(["unverified_accounts"]), "{line}");
    assert_eq!(line["removed"]["login_failures"], 1, "{line}");
    assert_eq!(
        count(&app, "login_failures", &format!("user_id = '{bob}'")),
        0
    );
    assert_eq!(count(&app, "users", &format!("id = '{doomed_id}'")), 1);
    assert_eq!(
        count(&app, "org_members", &format!("user_id = '{doomed_id}'")),
        1,
        "nothing of the account went"
    );
}
