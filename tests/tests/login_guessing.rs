//! Password guessing, end to end: what login and the verify page let a stranger try,
//! and what they never take from the owner (core::account::login_guard; SECURITY.md's
//! "Credential stuffing / guessing" and "Login lock-out" rows). Moved out of
//! security_accounts.rs, unchanged; the concurrent bursts are in races.rs.

use gatehouse_e2e::accounts::{
    link_token, login_at, reset_by_mail_from, sign_up, user_id, verification_path, PASSWORD,
};
use gatehouse_e2e::maintenance::{DAY, MINUTE};
use gatehouse_e2e::nodes::now_ms;
use gatehouse_e2e::seed::seq;
use gatehouse_e2e::spawn_app;
use serde_json::json;

#[test]
fn strangers_guessing_lock_only_their_own_network() {
    let app = spawn_app();
    sign_up(&app, "ada@acme.io");
    let home = "198.51.100.7";
    assert_eq!(login_at(&app, home, "ada@acme.io", PASSWORD).status, 200);

    // A stranger guesses ten times from one network: that network is refused for Ada's
    // account, even with the right password…
    let stranger = "203.0.113.5";
    for i in 0..10 {
        let res = login_at(&app, stranger, "ada@acme.io", "Wrong1horse");
        assert_eq!(res.status, 401, "guess {i}: {}", res.body);
    }
    let locked = login_at(&app, stranger, "ada@acme.io", PASSWORD);
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert_eq!(locked.json()["error_code"], "RATE_LIMITED");
    let retry: u32 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((800..=900).contains(&retry), "{retry}");
    // …while Ada signs in from a network she has never used (a hotel, a phone), and
    // from home.
    for ip in ["192.0.2.200", home] {
        let res = login_at(&app, ip, "ada@acme.io", PASSWORD);
        assert_eq!(res.status, 200, "{ip}: {}", res.body);
    }

    // Guesses spread over many networks meet the account's far higher ceiling (100
    // failures, the stranger's 10 included): then unknown networks are refused,
    // networks Ada signed in from are not.
    for i in 0..90 {
        let ip = format!("10.{}.{}.1", i / 200, i % 200);
        let res = login_at(&app, &ip, "ada@acme.io", "Wrong1horse");
        assert_eq!(res.status, 401, "guess from {ip}: {}", res.body);
    }
    assert_eq!(
        login_at(&app, "192.0.2.201", "ada@acme.io", PASSWORD).status,
        429
    );
    for ip in ["192.0.2.200", home] {
        let res = login_at(&app, ip, "ada@acme.io", PASSWORD);
        assert_eq!(res.status, 200, "{ip}: {}", res.body);
    }

    // A password reset (the emailed unlock) clears the counters and forgets the known
    // networks but the one it came from: the stranger's network may try again, and
    // after a new flood of guesses home is no longer exempt until Ada signs in there
    // again, while the network she reset from is (strangers keeping the ceiling full
    // cannot lock her out of every network, that one included).
    let reset_from = "192.0.2.210";
    reset_by_mail_from(&app, Some(reset_from), "ada@acme.io", 1, "Another1horse");
    assert_eq!(
        login_at(&app, stranger, "ada@acme.io", "Wrong1horse").status,
        401
    );
    assert_eq!(
        app.d1_query("SELECT network FROM login_networks"),
        vec![json!({"network": reset_from})]
    );
    for i in 0..99 {
        let ip = format!("10.9.{}.{}", i / 200, i % 200);
        assert_eq!(
            login_at(&app, &ip, "ada@acme.io", "Wrong1horse").status,
            401
        );
    }
    assert_eq!(
        login_at(&app, home, "ada@acme.io", "Another1horse").status,
        429,
        "the thief's (or anyone's) old network is not exempt after a reset"
    );
    let unlocked = login_at(&app, reset_from, "ada@acme.io", "Another1horse");
    assert_eq!(unlocked.status, 200, "{}", unlocked.body);
}

/// Whoever holds a verification link tries the sign-up's password with it no more
/// often than login allows: the verify page's password check counts with login's
/// failures, so ten wrong ones from a network lock that network for verifying and
/// signing in alike, and the right password still verifies from elsewhere — also
/// when a stranger's wrong logins have filled the account's ceiling.
#[test]
fn guessing_through_a_verification_link_counts_with_logins_failures() {
    let app = spawn_app();
    sign_up(&app, "ada@acme.io");
    let link = |email: &str| link_token(&verification_path(&app, email));
    let token = link("ada@acme.io");
    let failed_logins = |email: &str| {
        app.d1_query(&format!(
            "SELECT failed_logins FROM users WHERE email = '{email}'"
        ))[0]["failed_logins"]
            .as_i64()
    };
    let verify_at = |ip: &str, token: &str, password: &str| {
        let body = json!({"token": token, "password": password}).to_string();
        app.request(
            "POST",
            "/user/verify-email",
            &[
                ("content-type", "application/json"),
                ("cf-connecting-ip", ip),
            ],
            Some(body.as_bytes()),
        )
    };
    let holder = "203.0.113.9";
    for i in 0..10 {
        let res = verify_at(holder, &token, "Wrong1horse");
        assert_eq!(res.status, 401, "guess {i}: {}", res.body);
    }
    let locked = verify_at(holder, &token, PASSWORD);
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert_eq!(locked.json()["error_code"], "RATE_LIMITED");
    assert_eq!(login_at(&app, holder, "ada@acme.io", PASSWORD).status, 429);
    // Refused attempts from a refused network add nothing to the account's count.
    assert_eq!(failed_logins("ada@acme.io"), Some(10));
    // The owner, from another network, verifies with the same link; the right password
    // is not left counted as a failure.
    let owner = verify_at("198.51.100.9", &token, PASSWORD);
    assert_eq!(owner.status, 200, "{}", owner.body);
    assert_eq!(owner.json()["success"], true);
    assert_eq!(failed_logins("ada@acme.io"), Some(10));

    // A stranger fills Bob's ceiling with wrong logins from ten networks: a new network
    // cannot sign in, but Bob still verifies from one.
    sign_up(&app, "bob@beta.example");
    let bobs = link("bob@beta.example");
    for n in 0..10 {
        for _ in 0..10 {
            let res = login_at(
                &app,
                &format!("10.9.{n}.1"),
                "bob@beta.example",
                "Wrong1horse",
            );
            assert_eq!(res.status, 401, "{}", res.body);
        }
    }
    assert_eq!(failed_logins("bob@beta.example"), Some(100));
    assert_eq!(
        login_at(&app, "192.0.2.99", "bob@beta.example", PASSWORD).status,
        429
    );
    let bob = verify_at("192.0.2.98", &bobs, PASSWORD);
    assert_eq!(bob.status, 200, "{}", bob.body);
}

/// A counter whose 15-minute window is over counts from one again, and each attempt
/// removes at most two closed windows of anyone's (oldest first): strangers who piled
/// up closed counters cannot make one login pay for deleting them all (the
/// maintenance removes the rest, maintenance.rs).
#[test]
fn a_closed_failure_window_counts_again_and_an_attempt_removes_at_most_two_closed_ones() {
    let app = spawn_app();
    sign_up(&app, "ada@acme.io");
    let ada = user_id(&app, "ada@acme.io");
    let now = now_ms();
    let (home, stranger) = ("198.51.100.7", "203.0.113.5");
    // Forty closed windows a day old, and a full one (10 failures) for each of home
    // and the stranger's network that closed five minutes ago: newer than the forty,
    // so no bounded sweep reaches them before their own attempt.
    let day_old = now - DAY;
    let just_closed = now - 20 * MINUTE;
    app.d1_query(&format!(
        "{} INSERT INTO login_failures (user_id, network, failures, window_start_ms) \
         SELECT '{ada}', 'net-' || n, 1, {day_old} - n FROM seq \
         UNION ALL SELECT '{ada}', '{home}', 10, {just_closed} \
         UNION ALL SELECT '{ada}', '{stranger}', 10, {just_closed}",
        seq(1, 40)
    ));
    let closed = || {
        app.d1_query(&format!(
            "SELECT count(*) AS n FROM login_failures WHERE window_start_ms <= {now} - 15 * 60000"
        ))[0]["n"]
            .as_i64()
    };
    assert_eq!(closed(), Some(42));

    // A wrong password from the stranger's network is a first failure again (401, not
    // 429), in a window that starts now.
    let res = login_at(&app, stranger, "ada@acme.io", "Wrong1horse");
    assert_eq!(res.status, 401, "{}", res.body);
    assert_eq!(
        app.d1_query(&format!(
            "SELECT failures, window_start_ms >= {now} AS fresh FROM login_failures \
             WHERE network = '{stranger}'"
        )),
        vec![json!({"failures": 1, "fresh": 1})]
    );
    // Ada signs in from home, whose full window is over.
    let res = login_at(&app, home, "ada@acme.io", PASSWORD);
    assert_eq!(res.status, 200, "{}", res.body);
    // Two attempts took four of the day-old windows (and home's own, cleared by its
    // success); the other 36 wait for the maintenance.
    assert_eq!(closed(), Some(36));
    assert_eq!(
        app.d1_query(
            "SELECT group_concat(network) AS gone FROM (SELECT 'net-' || value AS network \
             FROM json_each('[37,38,39,40]') EXCEPT SELECT network FROM login_failures)"
        ),
        vec![json!({"gone": "net-37,net-38,net-39,net-40"})],
        "the oldest go first"
    );
}

/// An account keeps at most 100 known networks (login_guard::MAX_KNOWN_NETWORKS): a
/// login from another forgets the least recently used, never the one it comes from.
/// Without the cap one account signing in from every /64 of a /48 kept a row a network
/// for 90 days, and every known network widens the guessing bound.
#[test]
fn an_account_keeps_its_hundred_most_recently_used_known_networks() {
    let app = gatehouse_e2e::shared_app();
    let email = "ada@known-networks.acme.io";
    sign_up(app, email);
    let id = user_id(app, email);
    let now = now_ms();
    let known: Vec<String> = (0..100)
        .map(|i| format!("('{id}', '10.0.{i}.1', {})", now - DAY - i * MINUTE))
        .collect();
    app.d1_query(&format!(
        "INSERT INTO login_networks (user_id, network, last_success_ms) VALUES {}",
        known.join(", ")
    ));
    let networks = || -> Vec<String> {
        app.d1_query(&format!(
            "SELECT network FROM login_networks WHERE user_id = '{id}'"
        ))
        .iter()
        .map(|row| row["network"].as_str().unwrap().to_owned())
        .collect()
    };
    assert_eq!(login_at(app, "198.51.100.70", email, PASSWORD).status, 200);
    let kept = networks();
    assert_eq!(kept.len(), 100, "{kept:?}");
    assert!(
        kept.contains(&"198.51.100.70".to_owned()),
        "the network signed in from"
    );
    assert!(
        !kept.contains(&"10.0.99.1".to_owned()),
        "the least recently used goes"
    );
    assert!(kept.contains(&"10.0.98.1".to_owned()));
    // A login from a network it knows forgets nothing.
    assert_eq!(login_at(app, "10.0.98.1", email, PASSWORD).status, 200);
    assert_eq!(networks().len(), 100);
}
