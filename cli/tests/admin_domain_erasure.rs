//! `gatehouse-cli admin delete-accounts-at DOMAIN`, against the local D1 of a running
//! worker: a catch-all domain's accounts erased in several calls, as delete-account
//! erases one, and nothing of anyone else's (a subdomain's account, a member at
//! another address, a free-mail provider's people). `admin block-domain`, which keeps
//! the script from signing up there again, is admin_domain_block.rs.

mod common;

use common::{admin, count, ok, stderr, text};
use gatehouse_e2e::accounts::{
    legacy_membership, login_at, sign_up, user_id, verified_user, PASSWORD,
};
use gatehouse_e2e::nodes::upload_new_key;
use gatehouse_e2e::{shared_app, TestApp};
use serde_json::{json, Value};

/// The accounts whose address ends in `@domain`.
fn accounts_at(app: &TestApp, domain: &str) -> u64 {
    count(
        app,
        &format!("SELECT count(*) AS n FROM users WHERE email LIKE '%@{domain}'"),
    )
}

#[test]
fn a_catch_all_domains_accounts_go_in_calls_and_nobody_elses() {
    let app = shared_app();
    // A script's domain: its founder claimed the domain and added a key; three more
    // verified accounts joined; one never verified (its own pending organization).
    let domain = "catchall.example";
    let boss = format!("boss@{domain}");
    let (boss_token, company, _) = verified_user(app, &boss);
    upload_new_key(app, &boss_token, &company);
    let mut bot_tokens = Vec::new();
    for bot in ["bot1", "bot2", "bot3"] {
        let (token, org, _) = verified_user(app, &format!("{bot}@{domain}"));
        assert_eq!(
            org, company,
            "a verified account joins the domain's organization"
        );
        bot_tokens.push(token);
    }
    let lurker = sign_up(app, &format!("lurker@{domain}"));
    let lurker_org = lurker["user"]["orgId"].as_str().unwrap().to_owned();
    assert_ne!(lurker_org, company);
    // Not at the domain: a subdomain's account, and a verified person elsewhere who
    // is also a member of the company (so it stays, and the OWNER role passes to them).
    let (_, sub_org, _) = verified_user(app, "ann@mail.catchall.example");
    let ops = "ops@elsewhere-co.example";
    let (ops_token, _, _) = verified_user(app, ops);
    legacy_membership(app, &company, &user_id(app, ops));
    let boss_id = user_id(app, &boss);

    // Where an operator sees them: the domains with the most accounts.
    let stats: Value = serde_json::from_str(&ok(&admin(app, &["stats"]))).unwrap();
    let top = stats["topDomains"].as_array().unwrap();
    assert!(
        top.contains(&json!({"domain": domain, "accounts": 5, "verified": 4})),
        "{top:?}"
    );
    let plan = ok(&admin(
        app,
        &["delete-accounts-at", "CatchAll.Example", "--dry-run"],
    ));
    for line in [
        "5 account(s) at catchall.example (4 verified):",
        "1 organization(s) only they belong to: deleted with their 0 key(s), 0 node(s), 0 service environment(s)",
        "1 organization(s) with members elsewhere stay: 4 membership(s) go, 1 OWNER role(s) pass to a member who stays",
        "1 of their rows stay with nothing personal (erased:<id>)",
        "dry run: nothing changed",
    ] {
        assert!(plan.contains(line), "{line}: {plan}");
    }
    assert_eq!(accounts_at(app, domain), 5);

    // Two accounts a call: three calls, each said on stderr.
    let out = admin(app, &["delete-accounts-at", domain, "--per-call", "2"]);
    let said = ok(&out);
    assert!(
        said.contains("deleted: 5 account(s) (1 kept as erased:<id>)")
            && said.contains("1 organization(s) with 0 key(s) and 0 node(s); 1 new OWNER(s)"),
        "{said}"
    );
    assert_eq!(stderr(&out).matches("erased ").count(), 3, "{}", text(&out));
    assert!(stderr(&out).contains("erased 5 account(s) at catchall.example (the plan counted 5)"));

    // Nobody at the domain answers; the boss's row anchors the key's audit entry with
    // nothing personal; the lurker's organization is gone; the company stays, with
    // its key, the member elsewhere its OWNER.
    assert_eq!(accounts_at(app, domain), 0);
    for token in &bot_tokens {
        let profile = app.request_as(token, "GET", "/user/profile", None);
        assert_eq!(profile.status, 401, "{}", profile.body);
    }
    assert_eq!(login_at(app, "198.51.100.70", &boss, PASSWORD).status, 401);
    let anchor = app.d1_query(&format!(
        "SELECT email, password_hash, first_name FROM users WHERE id = '{boss_id}'"
    ));
    assert_eq!(
        anchor,
        vec![json!({"email": format!("erased:{boss_id}"), "password_hash": "", "first_name": ""})]
    );
    let orgs = app.d1_query(&format!(
        "SELECT id FROM organizations WHERE id IN ('{company}', '{lurker_org}')"
    ));
    assert_eq!(orgs, vec![json!({"id": company})]);
    let members = app.d1_query(&format!(
        "SELECT u.email, m.role FROM org_members m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = '{company}'"
    ));
    assert_eq!(members, vec![json!({"email": ops, "role": "OWNER"})]);
    let keys = app.request_as(
        &ops_token,
        "GET",
        &format!("/organization/{company}/key"),
        None,
    );
    assert_eq!(keys.status, 200, "{}", keys.body);
    assert_eq!(keys.json()["data"].as_array().map(Vec::len), Some(1));
    // The subdomain's account is someone else's, and untouched.
    assert_eq!(
        login_at(app, "198.51.100.71", "ann@mail.catchall.example", PASSWORD).status,
        200
    );
    assert_eq!(
        count(
            app,
            &format!("SELECT count(*) AS n FROM organizations WHERE id = '{sub_org}'")
        ),
        1
    );
    assert_eq!(
        app.d1_query("PRAGMA foreign_key_check"),
        Vec::<Value>::new()
    );
    // Done is done.
    let again = admin(app, &["delete-accounts-at", domain]);
    assert!(
        stderr(&again).contains("no account at catchall.example"),
        "{}",
        text(&again)
    );
    // A wildcard catch-all signs up at made-up subdomains: with them, those go too,
    // and a look-alike domain's account stays.
    let (deep_token, deep_org, _) = verified_user(app, "bot@x.eu.catchall.example");
    sign_up(app, "bot@y.eu.catchall.example");
    let (_, look_alike_org, _) = verified_user(app, "eve@notcatchall.example");
    // A free-mail provider's subdomain under it is strangers': kept, and the one who
    // takes the OWNER role where the deep bot had it (nobody leaving takes it over).
    app.d1_query("INSERT INTO free_mail_domains (domain) VALUES ('free.catchall.example')");
    verified_user(app, "pat@free.catchall.example");
    legacy_membership(app, &deep_org, &user_id(app, "pat@free.catchall.example"));
    // Where made-up subdomains show: their parent, in stats.
    let stats: Value = serde_json::from_str(&ok(&admin(app, &["stats"]))).unwrap();
    let parents = stats["topParentDomains"].as_array().unwrap();
    let eu = json!({"parent": "eu.catchall.example", "accounts": 2, "domains": 2, "verified": 1});
    assert!(parents.contains(&eu), "{parents:?}");
    let plan = ok(&admin(
        app,
        &[
            "delete-accounts-at",
            domain,
            "--including-subdomains",
            "--dry-run",
        ],
    ));
    for line in [
        "3 account(s) at catchall.example and its subdomains (2 verified):",
        "at 3 distinct domain(s)",
        "1 OWNER role(s) pass to a member who stays",
    ] {
        assert!(plan.contains(line), "{line}: {plan}");
    }
    ok(&admin(
        app,
        &[
            "delete-accounts-at",
            domain,
            "--including-subdomains",
            "--yes",
        ],
    ));
    let profile = app.request_as(&deep_token, "GET", "/user/profile", None);
    assert_eq!(profile.status, 401, "{}", profile.body);
    assert_eq!(
        login_at(app, "198.51.100.72", "ann@mail.catchall.example", PASSWORD).status,
        401
    );
    assert_eq!(
        app.d1_query(
            "SELECT email FROM users WHERE email LIKE '%@catchall.example' \
             OR email LIKE '%.catchall.example'"
        ),
        vec![json!({"email": "pat@free.catchall.example"})]
    );
    let members = app.d1_query(&format!(
        "SELECT u.email, m.role FROM org_members m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = '{deep_org}'"
    ));
    assert_eq!(
        members,
        vec![json!({"email": "pat@free.catchall.example", "role": "OWNER"})]
    );
    assert_eq!(
        count(
            app,
            &format!("SELECT count(*) AS n FROM organizations WHERE id = '{look_alike_org}'")
        ),
        1
    );
}

#[test]
fn a_banned_domain_organization_goes_only_when_asked_and_no_stranger_is_erased() {
    let app = shared_app();
    // Everyone in the organization is at the domain, and it is banned: erasing them
    // all deletes it, which lifts the ban and frees the domain. Both are OWNERs who
    // added a key, so each is named by the organization's audit.
    let domain = "burner.example";
    let (one_token, burner, _) = verified_user(app, &format!("one@{domain}"));
    let (two_token, joined, _) = verified_user(app, &format!("two@{domain}"));
    assert_eq!(joined, burner);
    ok(&admin(
        app,
        &["set-role", &burner, &format!("two@{domain}"), "OWNER"],
    ));
    for token in [&one_token, &two_token] {
        let (_, uploaded) = upload_new_key(app, token, &burner);
        assert!(uploaded.status < 300, "{}", uploaded.body);
    }
    let ids = [
        user_id(app, &format!("one@{domain}")),
        user_id(app, &format!("two@{domain}")),
    ];
    ok(&admin(app, &["ban", &burner]));
    let refused = admin(app, &["delete-accounts-at", domain]);
    assert!(
        stderr(&refused).contains("--including-banned; nothing changed"),
        "{}",
        text(&refused)
    );
    assert_eq!(accounts_at(app, domain), 2);

    // One account a call: the first call passes the role to nobody at the domain (the
    // other leaves next) and keeps its account as the audit's anchor; the last call
    // takes the organization, its keys and audit, and with them that anchor.
    let out = ok(&admin(
        app,
        &[
            "delete-accounts-at",
            domain,
            "--including-banned",
            "--per-call",
            "1",
        ],
    ));
    assert!(
        out.contains("deleted: 2 account(s) (0 kept as erased:<id>)")
            && out.contains("1 organization(s) with 2 key(s) and 0 node(s); 0 new OWNER(s)")
            && !out.contains("also deleted"),
        "{out}"
    );
    assert_eq!(accounts_at(app, domain), 0);
    assert_eq!(
        count(
            app,
            &format!(
                "SELECT count(*) AS n FROM users WHERE id IN ('{}', '{}')",
                ids[0], ids[1]
            )
        ),
        0
    );
    assert_eq!(
        count(
            app,
            &format!("SELECT count(*) AS n FROM organizations WHERE id = '{burner}'")
        ),
        0
    );
    assert_eq!(
        app.d1_query("PRAGMA foreign_key_check"),
        Vec::<Value>::new()
    );

    // A free-mail provider's people are strangers to each other: refused, and no
    // statement of the command selects an account there. Not a domain, or nobody
    // there: refused too.
    sign_up(app, "someone.else@gmail.com");
    let free = admin(app, &["delete-accounts-at", "Gmail.com"]);
    assert!(
        stderr(&free).contains("free-mail provider"),
        "{}",
        text(&free)
    );
    assert_eq!(accounts_at(app, "gmail.com"), 1);
    for (args, said) in [
        (
            vec!["delete-accounts-at", "x' OR '1'='1"],
            "is not a domain",
        ),
        (
            vec!["delete-accounts-at", "nobody-here.example"],
            "no account at",
        ),
        (
            vec![
                "delete-accounts-at",
                "nobody-here.example",
                "--per-call",
                "51",
            ],
            "51 is not in 1..=50",
        ),
    ] {
        let out = admin(app, &args);
        assert!(
            !out.status.success() && stderr(&out).contains(said),
            "{}",
            text(&out)
        );
    }
}
