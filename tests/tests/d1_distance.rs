//! Distance to D1: the warm /register path (one primary round trip that still sees
//! every revocation and ban at once), and the simulated latency test builds use to make
//! distance visible (docs/performance.md, "D1 round trips"); read replicas are in
//! read_replicas.rs.
//!
//! The warm-path test runs on a worker of its own; the simulated distance, the logins
//! that read a replica before a password reset or a rehash, and the refreshes racing a
//! sign-out, a removal or each other share another, with [`LATENCY_MS`] per primary
//! round trip, one test at a time.

use gatehouse_core::config::KdfHash;
use gatehouse_core::crypto::password;
use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::accounts::{
    assert_error, link_token, login_at, reset_link, sign_up, verified_user, PASSWORD,
};
use gatehouse_e2e::members::remove_member;
use gatehouse_e2e::nodes::{now_ms, register, seed_org};
use gatehouse_e2e::{shared_app, spawn_app_with, until_exit, TestApp, TestResponse};
use serde_json::{json, Value};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Per round trip to the primary in [`distant_app`] (replicas next door): long enough
/// that a request started half of it later lands its write after another's with
/// margins of 750 ms either way, even on a loaded CI machine.
const LATENCY_MS: u64 = 1500;

/// The worker with [`LATENCY_MS`] per primary round trip, to this test alone while the
/// guard lives: a race staggered by 750 ms must not meet another test's requests held
/// back for a write of the harness's (traffic.rs: a write that found no quiet moment
/// among requests seconds long holds new ones until those under way end), nor share
/// the worker's time with them.
fn distant_app() -> (&'static TestApp, MutexGuard<'static, ()>) {
    static APP: OnceLock<TestApp> = OnceLock::new();
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let app = APP.get_or_init(|| {
        until_exit(spawn_app_with(&[(
            "D1_LATENCY_MS",
            &LATENCY_MS.to_string(),
        )]))
    });
    (app, alone)
}

fn primary_trips(res: &TestResponse) -> u32 {
    res.header("x-gatehouse-d1-primary")
        .expect("primary round-trip header")
        .parse()
        .unwrap()
}

/// A node registered twice, so this isolate knows it: the second took the warm path.
fn warm_node(app: &TestApp, org: &str, ip: &str) -> (PrivateKey, i64) {
    let key = seed_org(app, org, 2048);
    let ts = now_ms();
    let cold = register(app, &key, ip, ts, Some(org));
    assert_eq!(cold.status, 200, "{}", cold.body);
    let warm = register(app, &key, ip, ts + 1, None);
    assert_eq!(warm.status, 200, "{}", warm.body);
    assert_eq!(
        primary_trips(&warm),
        1,
        "the warm path is one primary round trip"
    );
    (key, ts + 1)
}

fn assert_refused(res: &TestResponse, message: &str) {
    assert_eq!(res.status, 400, "{}", res.body);
    assert_eq!(res.json(), json!({"success": false, "message": message}));
}

#[test]
fn the_warm_path_answers_exactly_as_the_cold_path_and_misses_no_revocation_or_ban() {
    let app = shared_app();

    // A key revoked after the isolate cached it: refused at once, as the cold path
    // refuses a key that is not active.
    let (key, ts) = warm_node(app, "org-revoked", "192.0.2.10");
    app.d1_execute("UPDATE org_keys SET revoked_at_ms = 1 WHERE org_id = 'org-revoked'")
        .unwrap();
    assert_refused(
        &register(app, &key, "192.0.2.10", ts + 1, None),
        "Invalid signature (a node's first registration must also name its organization: id_org)",
    );

    // A ban: refused at once, decided inside the one conditional write.
    let (key, ts) = warm_node(app, "org-banned", "192.0.2.11");
    app.d1_execute("UPDATE organizations SET banned = 1 WHERE id = 'org-banned'")
        .unwrap();
    let banned = register(app, &key, "192.0.2.11", ts + 1, None);
    assert_refused(&banned, "Unknown or banned organization");
    assert_eq!(primary_trips(&banned), 1);

    // Not newer than the last accepted request: the replay answer, in one round trip.
    let (key, ts) = warm_node(app, "org-replay", "192.0.2.12");
    let older = register(app, &key, "192.0.2.12", ts - 5, None);
    assert_refused(
        &older,
        "Replay detected: this signed request was already used or is older than the last one",
    );
    assert_eq!(primary_trips(&older), 1);

    // The node removed by its organization: a first registration again, which must
    // name the organization (the cache never stands in for that).
    let (key, ts) = warm_node(app, "org-removed", "192.0.2.13");
    app.d1_execute("DELETE FROM nodes WHERE ip = '192.0.2.13'")
        .unwrap();
    assert_refused(
        &register(app, &key, "192.0.2.13", ts + 1, None),
        "Invalid signature (a node's first registration must also name its organization: id_org)",
    );
    let again = register(app, &key, "192.0.2.13", ts + 2, Some("org-removed"));
    assert_eq!(again.status, 200, "{}", again.body);

    // A new key of the same organization (the cached ones do not verify it): the cold
    // path reads the keys again and accepts it.
    let (_, ts) = warm_node(app, "org-rotated", "192.0.2.14");
    let new_key = PrivateKey::generate(2048).unwrap();
    app.seed_org_key(
        "org-rotated",
        "org-rotated-key-2",
        &new_key.public_key().to_spki_pem(),
        2048,
    );
    let rotated = register(app, &new_key, "192.0.2.14", ts + 1, None);
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let stored = app.d1_query("SELECT key_id FROM nodes WHERE ip = '192.0.2.14'");
    assert_eq!(stored[0]["key_id"], "org-rotated-key-2");
}

#[test]
fn simulated_distance_delays_each_round_trip_by_a_timer() {
    let (app, _alone) = distant_app();
    let key = seed_org(app, "org-far", 2048);
    let ts = now_ms();
    let started = Instant::now();
    let cold = register(app, &key, "192.0.2.20", ts, Some("org-far"));
    let cold_elapsed = started.elapsed();
    assert_eq!(cold.status, 200, "{}", cold.body);
    assert_eq!(primary_trips(&cold), 2);
    let started = Instant::now();
    let warm = register(app, &key, "192.0.2.20", ts + 1, None);
    let warm_elapsed = started.elapsed();
    assert_eq!(warm.status, 200, "{}", warm.body);
    assert_eq!(primary_trips(&warm), 1);
    // Lower bounds only (a timer never fires early); how long it takes beyond that is
    // the benchmark's business.
    assert!(
        cold_elapsed.as_millis() >= 2 * u128::from(LATENCY_MS),
        "cold {cold_elapsed:?}"
    );
    assert!(
        warm_elapsed.as_millis() >= u128::from(LATENCY_MS),
        "warm {warm_elapsed:?}"
    );
}

/// A thief who knows the old password logs in while the owner resets it: the login
/// checks the password against a replica that has not seen the reset yet. Its
/// sign-in must not outlive the reset (nor its rehash overwrite the new password):
/// the write is conditional on the hash it checked, on the primary, where the reset
/// has landed. The reset reads its link and then writes (two primary round trips, the
/// write landing at 2 × [`LATENCY_MS`]); the login, started at 1.5 ×, reads the old hash
/// from a replica at once and writes on the primary at 2.5 ×.
#[test]
fn a_login_that_read_the_old_password_before_a_reset_signs_nobody_in() {
    let (app, _alone) = distant_app();
    let email = "ada@reset-race.example";
    sign_up(app, email);
    let asked = app.post_json("/user/request-reset-password", &json!({"email": email}));
    assert_eq!(asked.status, 200, "{}", asked.body);
    let link = reset_link(&app.wait_for_emails(email, 2)[1]);
    let (reset, login) = std::thread::scope(|scope| {
        let reset = scope.spawn(|| {
            app.post_json(
                "/user/reset-password",
                &json!({"token": link_token(&link), "newPassword": "Another1horse"}),
            )
        });
        std::thread::sleep(Duration::from_millis(LATENCY_MS * 3 / 2));
        let login = login_at(app, "198.51.100.7", email, PASSWORD);
        (reset.join().unwrap(), login)
    });
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_error(&login, 401, "INVALID_CREDENTIALS");
    let live = app.d1_query(&format!(
        "SELECT count(*) AS n FROM sign_ins s JOIN users u ON u.id = s.user_id \
         WHERE u.email = '{email}' AND s.ended_at_ms IS NULL"
    ));
    assert_eq!(
        live[0]["n"], 0,
        "the reset ended every sign-in, the login made none"
    );
    let known = app.d1_query(&format!(
        "SELECT count(*) AS n FROM login_networks n JOIN users u ON u.id = n.user_id \
         WHERE u.email = '{email}' AND n.network = '198.51.100.7'"
    ));
    assert_eq!(known[0]["n"], 0, "nor remembered the thief's network");
    let new = login_at(app, "198.51.100.7", email, "Another1horse");
    assert_eq!(new.status, 200, "{}", new.body);
}

/// The other way the hash changes under a login: another login of the same password
/// rehashes it (its stored iterations are below the configured ones). A login that
/// read the old hash from a replica then finds its conditional write refused; it
/// checks the password once more against the primary's hash and signs in — a right
/// password is never answered 401. Login A reads at 0 and writes (with the rehash) at
/// 1 × [`LATENCY_MS`]; login B reads the old hash at 0.75 × and writes at 1.75 ×.
#[test]
fn a_login_racing_another_logins_rehash_still_signs_in() {
    let (app, _alone) = distant_app();
    let email = "ada@rehash-race.example";
    sign_up(app, email);
    let weaker = password::hash(PASSWORD.as_bytes(), KdfHash::Sha512, 500).unwrap();
    app.d1_query(&format!(
        "UPDATE users SET password_hash = '{weaker}' WHERE email = '{email}'"
    ));
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| login_at(app, "198.51.100.8", email, PASSWORD));
        std::thread::sleep(Duration::from_millis(LATENCY_MS * 3 / 4));
        let b = login_at(app, "198.51.100.8", email, PASSWORD);
        (a.join().unwrap(), b)
    });
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(b.status, 200, "{}", b.body);
    let stored = app.d1_query(&format!(
        "SELECT password_hash FROM users WHERE email = '{email}'"
    ));
    let stored = stored[0]["password_hash"].as_str().unwrap();
    assert!(
        stored.contains("i=1000"),
        "rehashed once, to the setting: {stored}"
    );
}

/// Two organizations with a node behind one address (a NAT, a shared host), each
/// heartbeating in turn: each stays on the warm path, one primary round trip, instead
/// of pushing the other's out of the isolate's memory of the address.
#[test]
fn nodes_of_two_organizations_behind_one_address_both_stay_warm() {
    let app = shared_app();
    let ip = "192.0.2.20";
    let (first, ts) = warm_node(app, "org-nat-a", ip);
    let second = seed_org(app, "org-nat-b", 2048);
    let cold = register(app, &second, ip, ts, Some("org-nat-b"));
    assert_eq!(cold.status, 200, "{}", cold.body);
    for round in 1..=3 {
        for (key, org) in [(&first, "org-nat-a"), (&second, "org-nat-b")] {
            // Named or not: the unnamed one is checked against both remembered keys.
            let id_org = (round == 2).then_some(org);
            let res = register(app, key, ip, ts + round, id_org);
            assert_eq!(res.status, 200, "{org} round {round}: {}", res.body);
            assert_eq!(primary_trips(&res), 1, "{org} round {round}: the warm path");
        }
    }
}

/// Runs `first` at once and `second` half a [`LATENCY_MS`] later, side by side.
fn staggered<A: Send, B>(first: impl FnOnce() -> A + Send, second: impl FnOnce() -> B) -> (A, B) {
    std::thread::scope(|scope| {
        let first = scope.spawn(first);
        std::thread::sleep(Duration::from_millis(LATENCY_MS / 2));
        let second = second();
        (first.join().unwrap(), second)
    })
}

/// A refresh reads its sign-in and then rotates it: two primary round trips, the read
/// landing at 1 × [`LATENCY_MS`] after it starts and the rotation at 2 ×. What lands
/// in between decides the answer, as the client must show it: a sign-out of the same
/// sign-in (started 0.5 × after the refresh, written at 1.5 ×), or a removal of the
/// member that deletes the sign-in (started 0.5 × before it: its gate, then its batch
/// at 2 ×, between the refresh's read at 1.5 × and its rotation at 2.5 ×), is an
/// ordinary end, `SESSION_ENDED`, never the theft warning; another refresh of the same
/// token (started 0.5 × after) rotated it first, so this one used a retired token:
/// `TOKEN_REUSED`, and the sign-in ends as reuse.
#[test]
fn a_refresh_racing_a_sign_out_a_removal_or_another_refresh_is_answered_for_what_happened() {
    let (app, _alone) = distant_app();
    let refresh = |token: &Value| app.post_json("/user/refresh", &json!({"refresh_token": token}));
    let ada = sign_up(app, "ada@refresh-sign-out-race.example");
    let token = &ada["refreshToken"];
    let (refreshed, logout) = staggered(
        || refresh(token),
        || app.post_json("/user/logout", &json!({"refresh_token": token})),
    );
    assert_eq!(logout.status, 200, "{}", logout.body);
    assert_error(&refreshed, 401, "SESSION_ENDED");

    let (boss, org, _) = verified_user(app, "boss@refresh-removal-race.example");
    let (_, _, bob) = verified_user(app, "bob@refresh-removal-race.example");
    let bob_id = bob["user"]["id"].as_str().unwrap();
    let (removed, refreshed) = staggered(
        || remove_member(app, &boss, &org, bob_id),
        || refresh(&bob["refreshToken"]),
    );
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_error(&refreshed, 401, "SESSION_ENDED");

    let cy = sign_up(app, "cy@refresh-reuse-race.example");
    let token = &cy["refreshToken"];
    let (first, second) = staggered(|| refresh(token), || refresh(token));
    assert_eq!(first.status, 200, "{}", first.body);
    assert_error(&second, 401, "TOKEN_REUSED");
    assert_error(&refresh(&first.json()["refreshToken"]), 401, "TOKEN_REUSED");
}
