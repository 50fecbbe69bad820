//! The verification link: opened from the email, confirmed with a button, single
//! use, expiring, replaceable.
//!
//! All on one shared worker: each test has its own people, and reads and changes
//! (ages, expires) only their rows.

use gatehouse_e2e::accounts::{assert_error, open_and_confirm, sign_up, verification_path};
use gatehouse_e2e::shared_app;
use serde_json::json;

#[test]
fn opening_the_link_neither_verifies_nor_burns_it() {
    let app = shared_app();
    sign_up(app, "ada@preview.acme.io");
    let path = verification_path(app, "ada@preview.acme.io");
    // A mail scanner or link preview fetches the link, maybe more than once.
    for _ in 0..2 {
        let page = app.get(&path);
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(
            page.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert!(page
            .body
            .contains("<form method=\"post\" action=\"/user/verify-email\">"));
        assert!(!page.body.contains("Email verified"));
    }
    let user =
        app.d1_query("SELECT email_verified_at_ms FROM users WHERE email = 'ada@preview.acme.io'");
    assert_eq!(
        user[0]["email_verified_at_ms"],
        json!(null),
        "not verified by a GET"
    );
    // The person presses the button: verified, and the link is used up.
    let confirmed = open_and_confirm(app, &path);
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    assert!(confirmed.body.contains("Email verified"));
    let user =
        app.d1_query("SELECT email_verified_at_ms FROM users WHERE email = 'ada@preview.acme.io'");
    assert!(user[0]["email_verified_at_ms"].is_number());
    // A form without a token, or with a made-up one, is an invalid link page.
    for form in ["", "token=made-up"] {
        let res = app.request(
            "POST",
            "/user/verify-email",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(form.as_bytes()),
        );
        assert_eq!(res.status, 400, "{form}: {}", res.body);
        assert!(res.body.contains("Invalid link"));
    }
}

#[test]
fn verification_links_are_single_use_and_expire() {
    let app = shared_app();
    sign_up(app, "ada@single.acme.io");
    let path = verification_path(app, "ada@single.acme.io");
    assert_eq!(open_and_confirm(app, &path).status, 200);
    let again = open_and_confirm(app, &path);
    assert_eq!(again.status, 400);
    assert!(again.body.contains("Invalid link"));
    assert_eq!(
        again.header("content-type"),
        Some("text/html; charset=utf-8")
    );

    sign_up(app, "bob@single.acme.io");
    let token = app.wait_for_emails("bob@single.acme.io", 1)[0]
        .first_link()
        .unwrap()
        .rsplit('=')
        .next()
        .unwrap()
        .to_owned();
    app.d1_query(
        "UPDATE email_verifications SET expires_at_ms = 0 WHERE used_at_ms IS NULL \
         AND user_id IN (SELECT id FROM users WHERE email LIKE '%@single.acme.io')",
    );
    assert_error(
        &app.post_json("/user/verify-email", &json!({"token": token})),
        400,
        "LINK_EXPIRED",
    );
    assert_error(
        &app.post_json("/user/verify-email", &json!({"token": "made-up"})),
        400,
        "INVALID_LINK",
    );
    assert_error(
        &app.post_json("/user/verify-email", &json!({})),
        400,
        "INVALID_INPUT",
    );
    assert!(app.get("/user/verify-email").body.contains("Invalid link"));
}

#[test]
fn resend_replaces_the_link_and_is_rate_limited() {
    let app = shared_app();
    sign_up(app, "ada@resend.acme.io");
    let first = app.wait_for_emails("ada@resend.acme.io", 1)[0]
        .first_link()
        .unwrap();
    // Pretend the first link was sent two minutes ago, past the resend interval.
    app.d1_query(
        "UPDATE email_verifications SET created_at_ms = created_at_ms - 120000 \
         WHERE user_id = (SELECT id FROM users WHERE email = 'ada@resend.acme.io')",
    );
    let res = app.post_json(
        "/user/resend-verification",
        &json!({"email": "ADA@resend.acme.io"}),
    );
    assert_eq!(res.status, 202, "{}", res.body);
    let second = app.wait_for_emails("ada@resend.acme.io", 2)[1]
        .first_link()
        .unwrap();
    assert_ne!(first, second);
    assert_eq!(
        open_and_confirm(app, first.strip_prefix(&app.base_url).unwrap()).status,
        400,
        "the old link was invalidated"
    );

    // Within the interval: same answer, no mail. Unknown address: same answer.
    assert_eq!(
        app.post_json(
            "/user/resend-verification",
            &json!({"email": "ada@resend.acme.io"})
        )
        .status,
        202
    );
    assert_eq!(
        app.post_json(
            "/user/resend-verification",
            &json!({"email": "nobody@resend.acme.io"})
        )
        .status,
        202
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(app.emails_to("ada@resend.acme.io").len(), 2);
    assert_eq!(
        open_and_confirm(app, second.strip_prefix(&app.base_url).unwrap()).status,
        200
    );
}

#[test]
fn a_mailbox_gets_at_most_five_links_of_a_kind_an_hour_and_the_last_one_works() {
    let app = shared_app();
    let email = "ada@daily.acme.io";
    sign_up(app, email);
    // Every link of hers made `ms` earlier than it was: past the minute between links,
    // or out of the hour the cap counts in.
    let age = |ms: i64| {
        let of_hers = format!("user_id = (SELECT id FROM users WHERE email = '{email}')");
        app.d1_query(&format!(
            "UPDATE email_verifications SET created_at_ms = created_at_ms - {ms}, \
             expires_at_ms = expires_at_ms - {ms} WHERE {of_hers}; UPDATE password_resets \
             SET created_at_ms = created_at_ms - {ms}, expires_at_ms = expires_at_ms - {ms} \
             WHERE {of_hers}"
        ));
    };
    // Her links of each kind placed two minutes apart, the oldest `oldest_min` minutes
    // before now (the database's clock, as the write runs), each keeping its lifetime.
    let place = |verification_oldest_min: i64, reset_oldest_min: i64| {
        let of_hers = format!("user_id = (SELECT id FROM users WHERE email = '{email}')");
        let sql = |table: &str, oldest_min: i64| {
            format!(
                "UPDATE {table} SET created_at_ms = placed.at, \
                 expires_at_ms = expires_at_ms + placed.at - created_at_ms \
                 FROM (SELECT token_hash, CAST(unixepoch('subsec') * 1000 AS INTEGER) \
                 - ({oldest_min} - 2 * (row_number() OVER (ORDER BY created_at_ms) - 1)) * 60000 \
                 AS at FROM {table} WHERE {of_hers}) AS placed \
                 WHERE {table}.token_hash = placed.token_hash;"
            )
        };
        app.d1_query(&format!(
            "{} {}",
            sql("email_verifications", verification_oldest_min),
            sql("password_resets", reset_oldest_min)
        ));
    };
    let ask_for_both = || {
        let resend = app.post_json("/user/resend-verification", &json!({"email": email}));
        assert_eq!(resend.status, 202, "{}", resend.body);
        let reset = app.post_json("/user/request-reset-password", &json!({"email": email}));
        assert_eq!(reset.status, 200, "{}", reset.body);
    };
    // (verification mails, reset mails) so far, once the expected total arrived and
    // nothing more came.
    let mails = |total: usize| {
        app.wait_for_emails(email, total);
        std::thread::sleep(std::time::Duration::from_millis(700));
        let all = app.emails_to(email);
        let resets = all
            .iter()
            .filter(|m| m.subject == "Reset your password")
            .count();
        (all.len() - resets, resets)
    };
    // A stranger asks every minute, for both kinds: the sign-up's link and four
    // resends, five resets; then, asked alike, nothing more.
    for _ in 0..6 {
        age(2 * 60 * 1000);
        ask_for_both();
    }
    assert_eq!(mails(10), (5, 5));
    // The owner is not locked out of recovery: the last reset link mailed still works.
    let last_reset = app
        .emails_to(email)
        .into_iter()
        .rfind(|m| m.subject == "Reset your password")
        .expect("a reset mail");
    let link = gatehouse_e2e::accounts::reset_link(&last_reset);
    let token = gatehouse_e2e::accounts::link_token(&link);
    let reset = app.post_json(
        "/user/reset-password",
        &json!({"token": token, "newPassword": "Another2horse"}),
    );
    assert_eq!(reset.status, 200, "{}", reset.body);
    // The window slides: the links are two minutes apart, the oldest verification link
    // made two minutes before the oldest reset. With the oldest of each at 59 and 57
    // minutes, still nothing; a second past the hour for the verification link, one
    // more of it; two minutes on, the reset's oldest has left too (and the new
    // verification link's minute is over), one more of each. The first ages are set
    // from the database's clock as the write runs, not by adding to the ages so far:
    // those include the real time the asks above took (a minute or more on a loaded
    // machine would take the oldest link out of the hour here already).
    place(59, 57);
    ask_for_both();
    assert_eq!(mails(10), (5, 5));
    age(61 * 1000);
    ask_for_both();
    assert_eq!(mails(11), (6, 5));
    age(2 * 60 * 1000);
    ask_for_both();
    assert_eq!(mails(13), (7, 6));
}

/// Each sign-up at a new alias of a mailbox (`ada+1@…`, `ada+2@…`) is a new account
/// with a budget of its own, so the unverified aliases of one mailbox share one: ten
/// links of a kind an hour together (core::account::INBOX_LINKS_PER_WINDOW). A verified
/// account and the mailbox's own address are never held by it, so a stranger spending
/// the aliases cannot keep an owner's mail away.
#[test]
fn the_aliases_of_one_mailbox_share_its_links_and_its_owners_mail_never_waits() {
    let app = shared_app();
    let domain = "aliases.acme.io";
    let alias = |i: u32| format!("ada+{i}@{domain}");
    // Verification (or reset) mails sent to any of this mailbox's aliases so far.
    let to_aliases = |resets: bool| {
        app.sent_emails()
            .iter()
            .filter(|m| {
                (m["subject"] == "Reset your password") == resets
                    && m["to"].as_array().is_some_and(|to| {
                        to.iter().any(|t| {
                            t.as_str()
                                .is_some_and(|t| t.starts_with("ada+") && t.ends_with(domain))
                        })
                    })
            })
            .count()
    };
    // The count once `expected` arrived (or 10 s passed) and nothing more came.
    let settled_as = |resets: bool, expected: usize| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while to_aliases(resets) < expected && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        std::thread::sleep(std::time::Duration::from_millis(700));
        to_aliases(resets)
    };
    let settled = |expected: usize| settled_as(false, expected);
    // The count after long enough for a mail that is going to come (it leaves right
    // after the answer; locally it is listed within a second): for mail that must not.
    let still = |resets: bool| {
        std::thread::sleep(std::time::Duration::from_secs(3));
        to_aliases(resets)
    };
    let age_links_of = |i: u32, ms: i64| {
        app.d1_query(&format!(
            "UPDATE email_verifications SET created_at_ms = created_at_ms - {ms} \
             WHERE user_id IN (SELECT id FROM users WHERE email = '{}')",
            alias(i)
        ));
    };
    let resend = |i: u32| {
        let res = app.post_json("/user/resend-verification", &json!({"email": alias(i)}));
        assert_eq!(res.status, 202, "{}", res.body);
    };
    // A stranger signs up at twelve aliases: every sign-up answers alike, ten mails go.
    for i in 1..=12 {
        sign_up(app, &alias(i));
    }
    assert_eq!(settled(10), 10);
    assert!(
        app.log()
            .contains(r#""mail":"verification","msg":"mail_skipped","reason":"inbox""#),
        "the skipped mail is logged"
    );
    // The last alias asking again past its own minute: still nothing, the hour of the
    // mailbox's unverified aliases is spent.
    age_links_of(12, 2 * 60 * 1000);
    resend(12);
    assert_eq!(still(false), 10);

    // Reset links count apart, alike: ten of the unverified aliases get theirs, the
    // eleventh waits.
    let reset = |i: u32| {
        let res = app.post_json("/user/request-reset-password", &json!({"email": alias(i)}));
        assert_eq!(res.status, 200, "{}", res.body);
    };
    for i in 2..=12 {
        reset(i);
    }
    assert_eq!(settled_as(true, 10), 10);
    assert_eq!(still(true), 10);

    // Whoever proves the mailbox is not held: a verified alias gets its reset link while
    // the aliases' hour is spent, and the mailbox's own address its verification link.
    gatehouse_e2e::accounts::verify_by_email(app, &alias(1));
    reset(1);
    let mails = app.wait_for_emails(&alias(1), 2);
    assert_eq!(mails.last().unwrap().subject, "Reset your password");
    let own = format!("ada@{domain}");
    sign_up(app, &own);
    assert_eq!(app.wait_for_emails(&own, 1).len(), 1);

    // An hour on, the unverified aliases' links have left the window (the verified
    // alias's stays in it, and is not counted): nine more sign-ups and one resend are
    // the ten; the next resend waits.
    for i in 2..=12 {
        age_links_of(i, 61 * 60 * 1000);
    }
    for i in 13..=21 {
        sign_up(app, &alias(i));
    }
    assert_eq!(settled(19), 19);
    resend(12);
    assert_eq!(settled(20), 20);
    assert_eq!(app.wait_for_emails(&alias(12), 1).len(), 1);
    resend(11);
    assert_eq!(still(false), 20, "the eleventh of the hour waits");

    let stored = app.d1_query(&format!(
        "SELECT DISTINCT inbox FROM users WHERE email LIKE 'ada%@{domain}' ORDER BY inbox"
    ));
    assert_eq!(
        stored,
        vec![
            json!({"inbox": null}),
            json!({"inbox": format!("ada@{domain}")})
        ],
        "aliases keep their mailbox; the mailbox's own address none"
    );
}
