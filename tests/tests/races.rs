//! Races: many concurrent requests that may succeed at most once. The database is
//! checked afterwards, not only the answers.
//!
//! The registration race, the colleagues' race, the guessing bursts and the installer's
//! `/secrets` race share one worker (an organization, node address, node id and domain
//! of their own each); the sign-up race keeps its own, as it counts every row of six
//! tables to show there is no orphan anywhere.

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::accounts::{open_and_confirm, signup_body, verification_path, verified_user};
use gatehouse_e2e::node_env::{message, post_secrets, secrets_payload, set_all_envs, upload_key};
use gatehouse_e2e::nodes::{fields, now_ms, signed};
use gatehouse_e2e::{shared_app, spawn_app, TestApp};
use serde_json::{json, Value};
use std::sync::{Arc, Barrier};

/// Sends `bodies` concurrently (one thread each, released together) and returns
/// the status codes and response bodies.
fn concurrently(app: &TestApp, path: &str, bodies: Vec<Value>) -> Vec<(u16, Value)> {
    let barrier = Barrier::new(bodies.len());
    std::thread::scope(|scope| {
        let threads: Vec<_> = bodies
            .into_iter()
            .map(|body| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    let res = app.post_json(path, &body);
                    (res.status, res.json())
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    })
}

#[test]
fn one_signed_registration_sent_100_times_at_once_is_accepted_once() {
    let app = shared_app();
    let key = PrivateKey::generate(2048).unwrap();
    app.seed_org_key(
        "org-race",
        "key-race",
        &key.public_key().to_spki_pem(),
        2048,
    );
    let now = now_ms();
    let mut f = fields("192.0.2.200", now, Some("org-race"));
    f.provider = "GCS".into();
    let body = signed(&key, &f);
    let results = concurrently(app, "/register", vec![body; 100]);
    let accepted = results.iter().filter(|(s, _)| *s == 200).count();
    let replays = results
        .iter()
        .filter(|(s, b)| *s == 400 && b["message"].as_str().unwrap_or("").starts_with("Replay"))
        .count();
    assert_eq!(
        (accepted, replays),
        (1, 99),
        "{:?}",
        results.iter().map(|(s, _)| s).collect::<Vec<_>>()
    );
    let nodes = app.d1_query(
        "SELECT count(*) AS n, max(last_signed_at_ms) AS t FROM nodes \
         WHERE org_id = 'org-race' OR ip = '192.0.2.200'",
    );
    assert_eq!(
        (nodes[0]["n"].as_i64(), nodes[0]["t"].as_i64()),
        (Some(1), Some(now))
    );
}

#[test]
fn fifty_simultaneous_sign_ups_with_one_email_create_one_account_and_nothing_else() {
    let app = spawn_app();
    let bodies = (0..50)
        .map(|i| {
            let email = if i % 2 == 0 {
                "Ada@Acme.io".to_owned()
            } else {
                format!("ADA@acme.{}", "IO")
            };
            signup_body(&email, json!({"isBusiness": i % 3 == 0}))
        })
        .collect();
    let results = concurrently(&app, "/user/register", bodies);
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    let exists = results
        .iter()
        .filter(|(s, b)| {
            *s == 400
                && b["error_code"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("EMAIL_EXISTS_"))
        })
        .count();
    assert_eq!(
        (created, exists),
        (1, 49),
        "{:?}",
        results
            .iter()
            .map(|(s, b)| (s, b["error_code"].clone()))
            .collect::<Vec<_>>()
    );

    let counts = app.d1_query(
        "SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM organizations) AS orgs, \
         (SELECT count(*) FROM org_members) AS members, (SELECT count(*) FROM subscriptions) AS subs, \
         (SELECT count(*) FROM email_verifications) AS links, (SELECT count(*) FROM sign_ins) AS sessions",
    );
    assert_eq!(
        counts[0],
        json!({"users": 1, "orgs": 1, "members": 1, "subs": 1, "links": 1, "sessions": 1}),
        "no orphan rows"
    );
}

#[test]
fn colleagues_who_sign_up_and_verify_concurrently_end_in_one_organization() {
    let app = shared_app();
    let emails: Vec<String> = (0..10).map(|i| format!("person{i}@together.io")).collect();
    let bodies = emails.iter().map(|e| signup_body(e, json!({}))).collect();
    let results = concurrently(app, "/user/register", bodies);
    assert!(results.iter().all(|(s, _)| *s == 201), "{results:?}");
    let orgs_made: Vec<String> = results
        .iter()
        .map(|(_, b)| format!("'{}'", b["user"]["orgId"].as_str().unwrap()))
        .collect();
    let orgs_made = orgs_made.join(", ");
    let people: Vec<String> = results
        .iter()
        .map(|(_, b)| format!("'{}'", b["user"]["id"].as_str().unwrap()))
        .collect();
    let people = people.join(", ");
    // Their organizations: the ten sign-ups made, and any for together.io.
    let theirs = format!(
        "(id IN ({orgs_made}) OR domain = 'together.io' OR pending_domain = 'together.io')"
    );
    // Nobody has verified: nobody has claimed together.io.
    assert_eq!(
        app.d1_query(&format!(
            "SELECT count(*) AS n FROM organizations WHERE {theirs} AND domain IS NOT NULL"
        ))[0]["n"],
        0
    );

    // Everyone presses their link's button at once: one organization claims the
    // domain, the others' empty organizations fold into it.
    let barrier = Arc::new(Barrier::new(emails.len()));
    let threads: Vec<_> = emails
        .iter()
        .map(|email| {
            let path = verification_path(app, email);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                open_and_confirm(app, &path).status
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 200);
    }
    let orgs = app.d1_query(&format!(
        "SELECT domain, pending_domain FROM organizations WHERE {theirs}"
    ));
    assert_eq!(
        orgs,
        vec![json!({"domain": "together.io", "pending_domain": null})],
        "everyone at together.io is in the one together.io organization"
    );
    let roles = app.d1_query(&format!(
        "SELECT role, count(*) AS n FROM org_members \
         WHERE user_id IN ({people}) OR org_id IN ({orgs_made}) GROUP BY role ORDER BY role"
    ));
    assert_eq!(
        roles,
        vec![
            json!({"role": "MEMBER", "n": 9}),
            json!({"role": "OWNER", "n": 1})
        ]
    );
    assert_eq!(
        app.d1_query(&format!(
            "SELECT count(*) AS n FROM subscriptions WHERE org_id IN ({orgs_made})"
        ))[0]["n"],
        1
    );
}

/// Password guesses sent at once each count before their password is checked, so a
/// burst cannot check more passwords than the budgets allow, however many it sends
/// (core::account::login_guard): 10 per network, 100 per account from networks the
/// account has not signed in from. The owner's own network still signs in.
#[test]
fn guesses_sent_at_once_check_no_more_passwords_than_the_budgets() {
    use gatehouse_e2e::accounts::{login_at, sign_up, PASSWORD};
    let app = shared_app();
    let email = "ada@guess-burst.example";
    sign_up(app, email);
    let home = "198.51.100.77";
    assert_eq!(login_at(app, home, email, PASSWORD).status, 200);
    // Each guess from (network i, attempt j), all released together; the status of each.
    let burst = |networks: &[String], per_network: usize| -> Vec<u16> {
        let barrier = Barrier::new(networks.len() * per_network);
        std::thread::scope(|scope| {
            let threads: Vec<_> = networks
                .iter()
                .flat_map(|ip| std::iter::repeat_n(ip, per_network))
                .map(|ip| {
                    let barrier = &barrier;
                    scope.spawn(move || {
                        barrier.wait();
                        login_at(app, ip, email, "Wrong1horse").status
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        })
    };
    let checked = |statuses: &[u16]| {
        assert!(
            statuses.iter().all(|s| [401, 429].contains(s)),
            "{statuses:?}"
        );
        statuses.iter().filter(|s| **s == 401).count()
    };
    // Thirty at once from one network: ten passwords checked, the rest refused.
    let one = burst(&["203.0.113.77".to_owned()], 30);
    assert_eq!(checked(&one), 10, "{one:?}");
    // A hundred and twenty more at once from twelve other networks: together with the
    // first burst, exactly the account's ceiling of 100 checked (the first burst's
    // refused twenty added nothing to it).
    let many: Vec<String> = (0..12).map(|i| format!("10.77.{i}.1")).collect();
    let spread = burst(&many, 10);
    let total = 10 + checked(&spread);
    assert_eq!(total, 100, "{spread:?}");
    // Past the ceiling a new network is refused even with the right password; the
    // owner's network is not, and signing in there leaves the lock as it was.
    assert_eq!(login_at(app, "192.0.2.177", email, PASSWORD).status, 429);
    assert_eq!(login_at(app, home, email, PASSWORD).status, 200);
    assert_eq!(login_at(app, "192.0.2.178", email, PASSWORD).status, 429);
}

/// Wrong node secrets sent at once: each is counted on the primary before its secret is
/// compared, so a burst gets no more comparisons (KDF runs, 409 answers that tell a
/// guess from the secret) than the ten sent one after another.
#[test]
fn node_secret_guesses_sent_at_once_compare_no_more_than_ten() {
    let app = shared_app();
    let node_id = "node-guessed-at-once";
    let secret = |s: &str| json!({"node_id": node_id, "secret": s});
    let registered = app.post_json("/register_node_secret", &secret("the-real-secret"));
    assert_eq!(registered.status, 200, "{}", registered.body);
    let guesses = (0..40).map(|i| secret(&format!("guess-{i}"))).collect();
    let answers = concurrently(app, "/register_node_secret", guesses);
    let compared = answers.iter().filter(|(status, _)| *status == 409).count();
    assert!(
        answers
            .iter()
            .all(|(status, _)| [409, 429].contains(status)),
        "{answers:?}"
    );
    assert_eq!(compared, 10, "{answers:?}");
    // Locked now, even for the right secret; nothing but the count changed.
    let locked = app.post_json("/register_node_secret", &secret("the-real-secret"));
    assert_eq!(locked.status, 429, "{}", locked.body);
    let stored = app.d1_query(&format!(
        "SELECT count(*) AS n FROM node_secrets WHERE node_id = '{node_id}'"
    ));
    assert_eq!(stored[0]["n"], 1);
}

/// The installer's `POST /secrets`: copies sent at once all pass the KV check (nothing
/// is remembered yet); D1's claim of the verified signature lets exactly one through.
#[test]
fn concurrent_copies_of_one_secrets_request_are_answered_once() {
    let app = shared_app();
    let (token, org, _) = verified_user(app, "race@concurrent.secrets.example");
    set_all_envs(app, &token, &org);
    let (pem, _) = upload_key(app, &token, &org);
    let payload = secrets_payload(&pem, "198.51.100.76", "eu-central-1", &org, now_ms() / 1000);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let copies: Vec<_> = (0..8)
            .map(|_| s.spawn(|| post_secrets(app, &payload)))
            .collect();
        copies
            .into_iter()
            .map(|c| {
                let res = c.join().unwrap();
                if res.status == 400 {
                    assert!(message(&res).starts_with("Replay"), "{}", res.body);
                }
                res.status
            })
            .collect()
    });
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 400).count(),
        7,
        "{statuses:?}"
    );
}
