//! Rate limits on the people routes (Workers rate-limiting binding, simulated
//! locally): per client network (IPv4 address, IPv6 /64) and per IPv6 /48; on login
//! also the account's failure ceiling (core::account::login_guard; the per-network
//! lock is in security_accounts.rs); security notices per account; 429 with
//! Retry-After in the people routes' error shape. The node routes' are in
//! rate_limits_nodes.rs.

use gatehouse_e2e::accounts::{login_at as login_with, sign_up, signup_body, verified_user};
use gatehouse_e2e::node_env::set_env;
use gatehouse_e2e::rate_window::{assert_retry_after_ends_window, in_one_window};
use gatehouse_e2e::{spawn_app_with, TestApp, TestResponse};
use serde_json::json;

fn login_from(app: &TestApp, ip: &str, email: &str) -> TestResponse {
    login_with(app, ip, email, "Wrong1horse")
}

#[test]
fn login_is_limited_per_ip_then_per_account() {
    let app = spawn_app_with(&[("RATE_LIMITS", "on")]);
    sign_up(&app, "ada@acme.io");
    // Ten guesses a minute from one address; the eleventh is refused (asked within the
    // burst's window; a burst that crossed a minute's end is made again elsewhere).
    let (attempt, refused) = in_one_window(30, |attempt| {
        let ip = format!("198.51.{}.1", 100 + attempt);
        for i in 0..10 {
            assert_eq!(
                login_from(&app, &ip, &format!("user{i}@acme.io")).status,
                401,
                "attempt {i}"
            );
        }
        login_from(&app, &ip, "someone@acme.io")
    });
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.json()["error_code"], "RATE_LIMITED");
    assert_eq!(refused.header("retry-after"), Some("60"));
    // Another address is not affected…
    let another = format!("198.51.{}.2", 100 + attempt);
    assert_eq!(login_from(&app, &another, "someone@acme.io").status, 401);
    // …but failed guesses at one account from many addresses meet the account's
    // ceiling (100 in 15 minutes from the first) for networks it never signed in from.
    let first_guess = std::time::Instant::now();
    for i in 0..100 {
        assert_eq!(
            login_from(
                &app,
                &format!("203.0.{}.{}", i / 100, i % 100),
                "ada@acme.io"
            )
            .status,
            401,
            "attempt {i}"
        );
    }
    let refused = login_from(&app, "203.0.113.100", "ada@acme.io");
    assert_eq!(refused.status, 429, "{}", refused.body);
    // Until the 15-minute window that began with the first guess ends.
    assert_retry_after_ends_window(&refused, 900, first_guess);
}

#[test]
fn guesses_from_elsewhere_cannot_lock_the_owner_out() {
    let app = spawn_app_with(&[("RATE_LIMITS", "on")]);
    sign_up(&app, "ada@acme.io");
    // Ada signs in from home: that network becomes known to her account.
    let home = "198.51.100.7";
    assert_eq!(
        login_with(&app, home, "ada@acme.io", "Correct1horse").status,
        200
    );
    // Someone guesses from a hundred other addresses, one try each.
    for i in 0..100 {
        assert_eq!(
            login_from(&app, &format!("203.0.113.{i}"), "ada@acme.io").status,
            401,
            "guess {i}"
        );
    }
    let locked = login_from(&app, "203.0.113.100", "ada@acme.io");
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert_eq!(locked.json()["error_code"], "RATE_LIMITED");
    // Even the right password from an unknown network is refused now, so guessing
    // cannot go on…
    assert_eq!(
        login_with(&app, "203.0.113.101", "ada@acme.io", "Correct1horse").status,
        429
    );
    // …while Ada, at home, signs in as usual (and a wrong password is still wrong).
    let ada = login_with(&app, home, "ada@acme.io", "Correct1horse");
    assert_eq!(ada.status, 200, "{}", ada.body);
    assert_eq!(login_from(&app, home, "ada@acme.io").status, 401);
}

#[test]
fn link_checks_and_verifications_are_limited_per_network() {
    let app = spawn_app_with(&[("RATE_LIMITS", "on")]);
    let from = |ip: &str, path: &str| {
        let body = json!({"token": "made-up", "password": "Correct1horse"}).to_string();
        app.request(
            "POST",
            path,
            &[
                ("content-type", "application/json"),
                ("cf-connecting-ip", ip),
            ],
            Some(body.as_bytes()),
        )
    };
    // The link page's form is a person's browser: its refusal is a page, not JSON.
    let form = |ip: &str, path: &str| {
        app.request(
            "POST",
            path,
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("cf-connecting-ip", ip),
            ],
            Some(b"token=made-up&password=Correct1horse"),
        )
    };
    // Every refusal is asked within the burst's window (a burst that crossed a minute's
    // end is made again from another network) and held after it.
    let (attempt, (json_refusals, page_refusals)) = in_one_window(40, |attempt| {
        let ip = format!("198.51.{}.30", 100 + attempt);
        // One budget for both: ten link tries a minute from one network.
        for i in 0..10 {
            let path = ["/user/verify-email", "/user/pre-verify-email"][i % 2];
            assert_eq!(from(&ip, path).status, 400, "try {i}");
        }
        let json_refusals =
            ["/user/verify-email", "/user/pre-verify-email"].map(|path| (path, from(&ip, path)));
        // Verifying's budget is spent above; the reset form's is its own: spend it.
        for i in 0..10 {
            let page = form(&ip, "/user/reset-password");
            assert_eq!(page.status, 400, "try {i}: {}", page.body);
        }
        let page_refusals =
            ["/user/verify-email", "/user/reset-password"].map(|path| (path, form(&ip, path)));
        (json_refusals, page_refusals)
    });
    for (path, refused) in json_refusals {
        assert_eq!(refused.status, 429, "{path}: {}", refused.body);
        assert_eq!(refused.json()["error_code"], "RATE_LIMITED");
        assert_eq!(refused.header("retry-after"), Some("60"));
    }
    let neighbour = format!("198.51.{}.31", 100 + attempt);
    assert_eq!(from(&neighbour, "/user/verify-email").status, 400);
    for (path, refused) in page_refusals {
        assert_eq!(refused.status, 429, "{path}: {}", refused.body);
        assert_eq!(
            refused.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
        assert!(
            refused.body.contains("<h1>Too many attempts</h1>")
                && refused.body.contains("retry after 60 seconds"),
            "{path}: {}",
            refused.body
        );
        assert_eq!(refused.header("retry-after"), Some("60"));
    }
}

#[test]
fn ipv6_clients_share_one_budget_per_64() {
    let app = spawn_app_with(&[("RATE_LIMITS", "on")]);
    // Ten addresses of one /64: one client (the eleventh asked within the burst's window).
    let (attempt, refused) = in_one_window(30, |attempt| {
        for i in 1..=10 {
            let ip = format!("2001:db8:{:x}:2::{i:x}", 1 + attempt);
            assert_eq!(login_from(&app, &ip, "nobody@acme.io").status, 401, "{ip}");
        }
        let last = format!("2001:db8:{:x}:2:ffff:ffff:ffff:fffe", 1 + attempt);
        login_from(&app, &last, "nobody@acme.io")
    });
    assert_eq!(refused.status, 429, "{}", refused.body);
    // The neighbouring /64 is someone else.
    let neighbour = format!("2001:db8:{:x}:3::1", 1 + attempt);
    assert_eq!(login_from(&app, &neighbour, "nobody@acme.io").status, 401);
}

/// Whoever holds a /48 holds 65,536 /64s: together they get ten /64s' pace on the
/// people routes, and /register_node_secret's rows are bounded the same way.
#[test]
fn ipv6_networks_share_a_wider_budget_per_48() {
    let app = spawn_app_with(&[("RATE_LIMITS", "on")]);
    // Ten /64s of one /48, each within its own ten a minute…
    let (attempt, (log_mark, refused)) = in_one_window(40, |attempt| {
        let log_mark = app.log_mark();
        for net in 0..10 {
            for i in 1..=10 {
                let ip = format!("2001:db8:{:x}:{net:x}::{i:x}", 0x48 + attempt);
                assert_eq!(login_from(&app, &ip, "nobody@acme.io").status, 401, "{ip}");
            }
        }
        // (asked within the burst's window)
        let wide = format!("2001:db8:{:x}", 0x48 + attempt);
        let refused = login_from(&app, &format!("{wide}:a::1"), "nobody@acme.io");
        (log_mark, refused)
    });
    let wide = format!("2001:db8:{:x}", 0x48 + attempt);
    // …spend the /48's hundred: an eleventh /64, fresh itself, is refused.
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.json()["error_code"], "RATE_LIMITED");
    assert_eq!(refused.header("retry-after"), Some("60"));
    // The operator's log names the limiter and budget that refused (never the network).
    let line = |limiter: &str| {
        format!(r#"{{"msg":"rate_limited","limiter":"{limiter}","budget":"login"}}"#)
    };
    // (What the last burst printed: an earlier one that crossed a minute may have
    // been refused too.)
    let log = app.wait_for_log_after(log_mark, &line("AUTH_WIDE_LIMITER"));
    assert_eq!(log.matches(&line("AUTH_WIDE_LIMITER")).count(), 1, "{log}");
    assert_eq!(log.matches(&line("AUTH_LIMITER")).count(), 0);
    assert!(!log.contains(&format!("{wide}:")), "no network in the log");
    // Sign-up is another route's budget; the neighbouring /48 is someone else.
    assert_eq!(
        login_from(&app, "2001:db8:4f:a::1", "nobody@acme.io").status,
        401
    );
    let signup = signup_body("wide@acme.io", json!({})).to_string();
    let created = app.request(
        "POST",
        "/user/register",
        &[
            ("content-type", "application/json"),
            ("cf-connecting-ip", &format!("{wide}:a::1")),
        ],
        Some(signup.as_bytes()),
    );
    assert_eq!(created.status, 201, "{}", created.body);
}

/// An OWNER looping a change cannot make the worker send mail without end (spending
/// the sending quota verification and reset mail need): security notices go out at
/// most 10 a minute per account, the rest skipped and logged; the changes stand.
#[test]
fn security_notices_are_paced_per_account() {
    let app = spawn_app_with(&[("RATE_LIMITS", "on")]);
    // The twelve changes fall in one of the limiter's minutes (a burst that crossed a
    // minute's end is made again by another account); the log's skips are counted
    // from the last burst on.
    let skipped = || app.log().matches("mail_skipped").count();
    let (_, (email, token, org, skipped_before)) = in_one_window(30, |attempt| {
        let email = format!("owner{attempt}@notices{attempt}.example");
        let (token, org, _) = verified_user(&app, &email);
        let skipped_before = skipped();
        for i in 0..12 {
            let res = set_env(&app, &token, &org, "s3", &format!("A={i}\n"));
            assert_eq!(res.status, 200, "change {i}: {}", res.body);
        }
        // The pace is asked after each answer (waitUntil): the burst is over once each
        // change's notice was sent or skipped (and the verification mail sent).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while app.emails_to(&email).len() + skipped() - skipped_before < 13
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        (email, token, org, skipped_before)
    });
    let email = email.as_str();
    // The verification mail and ten notices, and no more once the rest were skipped.
    assert_eq!(
        skipped() - skipped_before,
        2,
        "the two past the pace: {}",
        app.log()
    );
    assert_eq!(app.emails_to(email).len(), 11);
    // A key added right after is told all the same: a burst cannot hide it.
    let (_, uploaded) = gatehouse_e2e::nodes::upload_new_key(&app, &token, &org);
    let key_id = uploaded.json()["data"]["id"].as_str().unwrap().to_owned();
    let mails = app.wait_for_emails(email, 12);
    let last = mails.last().unwrap();
    assert_eq!(last.subject, "A key was added to your organization");
    assert!(last.text.contains(&key_id), "{}", last.text);
}
