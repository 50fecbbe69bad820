//! The deployment's mail to addresses nobody has proven is bounded by the hour
//! (`UNVERIFIED_MAIL_PER_HOUR`, migration 0030; docs/accounts.md, "Mail to addresses
//! nobody has proven"): strangers signing up from many networks cannot spend the sending
//! quota that a verified person's reset (and every security notice) needs.
//!
//! A worker of its own, with a budget of three.

use gatehouse_e2e::accounts::{sign_up, verify_by_email};
use gatehouse_e2e::spawn_app_with;
use serde_json::json;

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

    // Three sign-ups are the hour's mail to unproven addresses; each gets its link.
    for who in ["ada", "bob", "cy"] {
        sign_up(&app, &format!("{who}@budget.acme.io"));
    }
    for who in ["ada", "bob", "cy"] {
        app.wait_for_emails(&format!("{who}@budget.acme.io"), 1);
    }
    // The fourth is made and answered alike; its mail waits, and the log says why.
    let mark = app.log_mark();
    sign_up(&app, "dee@budget.acme.io");
    app.wait_for_log_after(
        mark,
        r#""mail":"verification","msg":"mail_skipped","reason":"budget""#,
    );
    assert_eq!(links("email_verifications", "dee@budget.acme.io"), 1);

    // A person who proved the mailbox is not held: their reset link goes.
    verify_by_email(&app, "ada@budget.acme.io");
    reset("ada@budget.acme.io");
    let mails = app.wait_for_emails("ada@budget.acme.io", 2);
    assert_eq!(mails.last().unwrap().subject, "Reset your password");
    // An account never verified gets no reset link this hour, and no new verification
    // link (its last one is kept, unused: nothing is retired for a link not made).
    reset("bob@budget.acme.io");
    assert_eq!(links("password_resets", "bob@budget.acme.io"), 0);
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
