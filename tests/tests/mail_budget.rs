//! The deployment's mail to addresses nobody has proven is bounded by the hour
//! (`UNVERIFIED_MAIL_PER_HOUR`, migration 0030; docs/accounts.md, "Mail to addresses
//! nobody has proven"): strangers signing up from many networks cannot spend the sending
//! quota that a verified person's reset (and every security notice) needs.
//!
//! A worker of its own, with a budget of three.

use gatehouse_e2e::accounts::{sign_up, signup_body, verify_by_email};
use gatehouse_e2e::spawn_app_with;
use serde_json::json;

/// A sign-up as the client sends it through Cloudflare from `ip`: 201.
fn sign_up_from(app: &gatehouse_e2e::TestApp, ip: &str, email: &str) {
    let res = app.post_json_from(ip, "/user/register", &signup_body(email, json!({})));
    assert_eq!(res.status, 201, "{}", res.body);
}

/// The log since `mark` says `needle` (within the harness's wait for it).
fn assert_logged(app: &gatehouse_e2e::TestApp, mark: u64, needle: &str) {
    let log = app.wait_for_log_after(mark, needle);
    assert!(log.contains(needle), "{needle} not in: {log}");
}

#[test]
fn strangers_sign_ups_spend_their_own_hour_of_mail_and_a_verified_persons_reset_still_goes() {
    let app = spawn_app_with(&[("UNVERIFIED_MAIL_PER_HOUR", "3")]);
    let number = |sql: &str| app.d1_query(sql)[0]["n"].as_i64().unwrap();
    let links = |table: &str, email: &str| {
        number(&format!(
            "SELECT count(*) AS n FROM {table} l JOIN users u ON u.id = l.user_id \
             WHERE u.email = '{email}'"
        ))
    };
    let unused_links = |email: &str| {
        number(&format!(
            "SELECT count(*) AS n FROM email_verifications l JOIN users u ON u.id = l.user_id \
             WHERE u.email = '{email}' AND l.used_at_ms IS NULL"
        ))
    };
    let resend = |email: &str| {
        let res = app.post_json("/user/resend-verification", &json!({"email": email}));
        assert_eq!(res.status, 202, "{}", res.body);
    };
    let reset = |email: &str| {
        let res = app.post_json("/user/request-reset-password", &json!({"email": email}));
        assert_eq!(res.status, 200, "{}", res.body);
    };

    let sent = || {
        app.d1_query("SELECT sent FROM mail_budget WHERE class = 'unverified'")[0]["sent"]
            .as_i64()
            .unwrap()
    };
    // Three sign-ups are the hour's mail to unproven addresses; each gets its link.
    // What is not such mail counts nothing, with room or without: a reset for an
    // address nobody has, a verified person's reset.
    sign_up(&app, "ada@budget.acme.io");
    verify_by_email(&app, "ada@budget.acme.io");
    reset("nobody@budget.acme.io");
    reset("ada@budget.acme.io");
    app.wait_for_emails("ada@budget.acme.io", 2);
    assert_eq!(sent(), 1);
    for who in ["bob", "cy"] {
        sign_up(&app, &format!("{who}@budget.acme.io"));
        app.wait_for_emails(&format!("{who}@budget.acme.io"), 1);
    }
    assert_eq!(sent(), 3);
    // The fourth is made and answered alike; its mail waits, and the log says why.
    let mark = app.log_mark();
    sign_up(&app, "dee@budget.acme.io");
    assert_logged(
        &app,
        mark,
        r#""mail":"verification","msg":"mail_skipped","reason":"budget""#,
    );
    assert_eq!(links("email_verifications", "dee@budget.acme.io"), 1);

    // A person who proved the mailbox is not held: their reset link goes.
    app.d1_query(
        "UPDATE password_resets SET created_at_ms = created_at_ms - 120000 \
         WHERE user_id = (SELECT id FROM users WHERE email = 'ada@budget.acme.io')",
    );
    reset("ada@budget.acme.io");
    let mails = app.wait_for_emails("ada@budget.acme.io", 3);
    assert_eq!(mails.last().unwrap().subject, "Reset your password");
    // An account never verified gets no reset link this hour, and no new verification
    // link (its last one is kept, unused: nothing is retired for a link not made).
    let mark = app.log_mark();
    reset("bob@budget.acme.io");
    assert_eq!(links("password_resets", "bob@budget.acme.io"), 0);
    assert_logged(
        &app,
        mark,
        r#""mail":"password reset","msg":"mail_skipped","reason":"budget""#,
    );
    app.d1_query(
        "UPDATE email_verifications SET created_at_ms = created_at_ms - 120000 \
         WHERE user_id = (SELECT id FROM users WHERE email = 'dee@budget.acme.io')",
    );
    resend("dee@budget.acme.io");
    assert_eq!(
        (
            links("email_verifications", "dee@budget.acme.io"),
            unused_links("dee@budget.acme.io")
        ),
        (1, 1)
    );
    assert_eq!(
        app.d1_query("SELECT sent FROM mail_budget WHERE class = 'unverified'"),
        vec![json!({"sent": 3})],
        "the refused ones counted nothing"
    );

    // An hour on, a new window: the waiting person asks again and gets a link that works.
    app.d1_query(
        "UPDATE mail_budget SET window_start_ms = window_start_ms - 3600000 \
         WHERE class = 'unverified'",
    );
    resend("dee@budget.acme.io");
    assert_eq!(
        (
            links("email_verifications", "dee@budget.acme.io"),
            unused_links("dee@budget.acme.io")
        ),
        (2, 1),
        "a new link, the old one retired"
    );
    verify_by_email(&app, "dee@budget.acme.io");
    assert_eq!(
        app.d1_query("SELECT sent FROM mail_budget WHERE class = 'unverified'"),
        vec![json!({"sent": 1})]
    );
}

/// One network (an IPv4 /24, an IPv6 /48) spends at most its share of the hour
/// (`UNVERIFIED_MAIL_PER_NETWORK`, counted while rate limits are on), so the hour is
/// left to everyone else, and a refused resend is logged too. As the client calls it
/// through Cloudflare, which names the caller in `CF-Connecting-IP`.
#[test]
fn one_network_spends_only_its_share_of_the_hour() {
    let app = spawn_app_with(&[("RATE_LIMITS", "on"), ("UNVERIFIED_MAIL_PER_NETWORK", "2")]);
    let post = |ip: &str, path: &str, body: serde_json::Value| app.post_json_from(ip, path, &body);
    let sign_up_from = |ip: &str, email: &str| sign_up_from(&app, ip, email);
    let classes = || app.d1_query("SELECT class, sent FROM mail_budget ORDER BY class");
    // Two addresses of one /24 are its two; the third waits, another network's goes.
    sign_up_from("203.0.113.1", "ada@share.acme.io");
    sign_up_from("203.0.113.2", "bob@share.acme.io");
    let mark = app.log_mark();
    sign_up_from("203.0.113.3", "cy@share.acme.io");
    assert_logged(
        &app,
        mark,
        r#""mail":"verification","msg":"mail_skipped","reason":"budget""#,
    );
    sign_up_from("198.51.100.7", "dee@share.acme.io");
    for who in ["ada", "bob", "dee"] {
        app.wait_for_emails(&format!("{who}@share.acme.io"), 1);
    }
    assert_eq!(
        classes(),
        vec![
            json!({"class": "unverified", "sent": 3}),
            json!({"class": "unverified@198.51.100.0/24", "sent": 1}),
            json!({"class": "unverified@203.0.113.0/24", "sent": 2}),
        ]
    );
    // cy asks again from its own network: held, logged, nothing made; from another, sent.
    app.d1_query(
        "UPDATE email_verifications SET created_at_ms = created_at_ms - 120000 \
         WHERE user_id = (SELECT id FROM users WHERE email = 'cy@share.acme.io')",
    );
    let mark = app.log_mark();
    let held = post(
        "203.0.113.9",
        "/user/resend-verification",
        json!({"email": "cy@share.acme.io"}),
    );
    assert_eq!(held.status, 202, "{}", held.body);
    assert_logged(
        &app,
        mark,
        r#""mail":"verification","msg":"mail_skipped","reason":"budget""#,
    );
    let sent = post(
        "2001:db8:7::1",
        "/user/resend-verification",
        json!({"email": "cy@share.acme.io"}),
    );
    assert_eq!(sent.status, 202, "{}", sent.body);
    app.wait_for_emails("cy@share.acme.io", 1);
    // A network's row whose hour is over goes with the next count (its retention).
    app.d1_query(
        "UPDATE mail_budget SET window_start_ms = window_start_ms - 3600000 \
         WHERE class = 'unverified@198.51.100.0/24'",
    );
    sign_up_from("192.0.2.5", "eve@share.acme.io");
    let left: Vec<String> = classes()
        .iter()
        .map(|r| r["class"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        left,
        [
            "unverified",
            "unverified@192.0.2.0/24",
            "unverified@2001:db8:7::/48",
            "unverified@203.0.113.0/24"
        ]
    );
}

/// While the deployment's hour is spent, a network's ask counts in nothing (its share
/// is not spent on mail that never went), a reset of an unverified account from it
/// is held and logged too, and once the deployment's hour is over its next sign-up is
/// mailed.
#[test]
fn a_spent_hour_costs_no_network_its_share() {
    let app = spawn_app_with(&[
        ("RATE_LIMITS", "on"),
        ("UNVERIFIED_MAIL_PER_HOUR", "3"),
        ("UNVERIFIED_MAIL_PER_NETWORK", "2"),
    ]);
    let post = |ip: &str, path: &str, body: serde_json::Value| app.post_json_from(ip, path, &body);
    let sign_up_from = |ip: &str, email: &str| sign_up_from(&app, ip, email);
    let network_row = |network: &str| {
        app.d1_query(&format!(
            "SELECT sent FROM mail_budget WHERE class = 'unverified@{network}'"
        ))
    };
    for (ip, who) in [
        ("203.0.113.1", "ada"),
        ("203.0.113.2", "bob"),
        ("198.51.100.1", "cy"),
    ] {
        sign_up_from(ip, &format!("{who}@spent.acme.io"));
    }
    // The hour is spent: a third network's sign-up and reset are held, and logged.
    let mark = app.log_mark();
    sign_up_from("192.0.2.1", "dee@spent.acme.io");
    assert_logged(
        &app,
        mark,
        r#""mail":"verification","msg":"mail_skipped","reason":"budget""#,
    );
    let mark = app.log_mark();
    let reset = post(
        "192.0.2.1",
        "/user/request-reset-password",
        json!({"email": "bob@spent.acme.io"}),
    );
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_logged(
        &app,
        mark,
        r#""mail":"password reset","msg":"mail_skipped","reason":"budget""#,
    );
    assert!(
        network_row("192.0.2.0/24").is_empty(),
        "its share untouched"
    );
    // An hour on for the deployment: the network's next sign-up is mailed.
    app.d1_query(
        "UPDATE mail_budget SET window_start_ms = window_start_ms - 3600000 \
         WHERE class = 'unverified'",
    );
    sign_up_from("192.0.2.2", "eve@spent.acme.io");
    app.wait_for_emails("eve@spent.acme.io", 1);
    assert_eq!(network_row("192.0.2.0/24"), vec![json!({"sent": 1})]);
}
