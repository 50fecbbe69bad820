//! `gatehouse-cli admin block-domain DOMAIN`, against the local D1 of a running worker:
//! sign-ups at a blocked domain and its subdomains refused (as the Flashback client
//! sends them), nowhere else, the accounts already there kept; the block listed, found
//! by `find-org`, and lifted by `unblock-domain`. Erasing the accounts already at a
//! domain is admin_domain_erasure.rs.

mod common;

use common::{admin, count, ok, stderr, text};
use gatehouse_e2e::accounts::{login_at, signup_body, verified_user, PASSWORD};
use gatehouse_e2e::flashback::client_call;
use gatehouse_e2e::shared_app;
use serde_json::{json, Value};

#[test]
fn a_blocked_domain_refuses_sign_ups_there_and_below_and_nowhere_else() {
    let app = shared_app();
    let domain = "blocked-catchall.example";
    // Someone who signed up before the block stays, and signs in as before.
    verified_user(app, &format!("early@{domain}"));
    // The Flashback client's sign-up, as it sends it.
    let sign_up_as_client = |email: &str| {
        client_call(
            app,
            None,
            "POST",
            "user/register",
            Some(&signup_body(email, json!({}))),
        )
    };
    let out = admin(app, &["block-domain", "Blocked-CatchAll.Example"]);
    let block: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(block["domain"], domain, "{block}");
    assert!(
        stderr(&out).contains("refused from now on"),
        "{}",
        stderr(&out)
    );

    // This test's accounts only: the file's other tests share the worker.
    let ours = format!(
        "SELECT count(*) AS n FROM users WHERE email LIKE '%@{domain}' \
         OR email LIKE '%.{domain}'"
    );
    for email in [
        format!("bot9@{domain}"),
        format!("bot9@mail.{domain}"),
        format!("Bot9@X.Mail.{}", domain.to_uppercase()),
    ] {
        let res = sign_up_as_client(&email);
        assert_eq!(res.status, 403, "{email}: {}", res.body);
        assert_eq!(
            res.json(),
            json!({"success": false, "error_code": "FORBIDDEN",
                   "message": "Sign-ups with an address at this email domain are not accepted"}),
            "{email}"
        );
    }
    assert_eq!(count(app, &ours), 1, "nothing stored but the early account");
    assert_eq!(
        login_at(app, "198.51.100.40", &format!("early@{domain}"), PASSWORD).status,
        200
    );
    // A name that merely ends like it is another domain; a subdomain's block leaves
    // its parent open.
    assert_eq!(sign_up_as_client(&format!("ann@not{domain}")).status, 201);
    ok(&admin(app, &["block-domain", "eu.parent-co.example"]));
    assert_eq!(sign_up_as_client("ann@eu.parent-co.example").status, 403);
    assert_eq!(sign_up_as_client("ann@parent-co.example").status, 201);

    // Blocking twice keeps the first block and says so; the list shows it.
    let out = admin(app, &["block-domain", domain]);
    let again: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(again, block);
    assert!(stderr(&out).contains("already blocked"), "{}", stderr(&out));
    let listed: Value = serde_json::from_str(&ok(&admin(app, &["blocked-domains"]))).unwrap();
    assert!(listed.as_array().unwrap().contains(&block), "{listed}");
    // A subdomain's own block lifted under a blocked parent: still refused, and told.
    let out = admin(app, &["block-domain", &format!("mail.{domain}")]);
    ok(&out);
    assert!(
        stderr(&out).contains(&format!("the block of {domain} already refuses")),
        "{}",
        stderr(&out)
    );
    // Support's question "why can I not sign up?": the nearest block answers.
    let found: Value = serde_json::from_str(&ok(&admin(
        app,
        &["find-org", &format!("someone@x.mail.{domain}")],
    )))
    .unwrap();
    assert_eq!(
        found["signUpsBlockedBy"]["domain"],
        format!("mail.{domain}")
    );
    let out = text(&admin(app, &["unblock-domain", &format!("mail.{domain}")]));
    assert!(
        out.contains(&format!("still refused by the block of {domain}")),
        "{out}"
    );
    assert_eq!(
        sign_up_as_client(&format!("bot9@mail.{domain}")).status,
        403
    );
    let out = admin(app, &["unblock-domain", &format!("mail.{domain}")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&format!(
            "no block of its own: sign-ups there are refused by the block of {domain}"
        )),
        "{}",
        stderr(&out)
    );
    // Lifting the domain's own lets its sign-ups in again.
    assert!(text(&admin(app, &["unblock-domain", domain])).contains("accepted again"));
    assert_eq!(
        sign_up_as_client(&format!("bot9@mail.{domain}")).status,
        201
    );
    let out = admin(app, &["unblock-domain", domain]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is not blocked"), "{}", stderr(&out));
}
