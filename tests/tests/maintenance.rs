//! The steady state (issue 24): one row per sign-in however often it refreshes, and
//! the Cron Trigger's scheduled maintenance — what it removes, what it keeps, that a
//! run is bounded, that runs are safe twice and at once — driven through wrangler's
//! scheduled-test endpoint; and that the test clock cannot move without TEST_HOOKS.

use gatehouse_core::account::rows::{ORGANIZATION_HOLDINGS, PERSONAL_TABLES};
use gatehouse_e2e::accounts::{
    assert_error, legacy_membership, login_at, sign_up, user_id, verified_user, PASSWORD,
};
use gatehouse_e2e::maintenance::{
    count, run_cron, seed_expiring_rows, trigger_cron, wait_for_runs, DAY, MINUTE,
};
use gatehouse_e2e::nodes::{fields, now_ms, seed_org, signed};
use gatehouse_e2e::seed::seq;
use gatehouse_e2e::{shared_app, spawn_app, spawn_app_with, TestApp};
use serde_json::{json, Value};

#[test]
fn a_sign_in_is_one_row_however_often_it_refreshes_and_any_retired_token_is_reuse() {
    let app = shared_app();
    let email = "ada@one-row.example";
    sign_up(app, email);
    let device = json!({"userAgent": "FlashbackApp/1.0", "deviceType": "MOBILE", "os": "iOS",
                        "browser": "Safari", "padding": "x".repeat(1500)});
    let login = app.post_json(
        "/user/login",
        &json!({"email": email, "password": "Correct1horse", "deviceInfo": device}),
    );
    assert_eq!(login.status, 200, "{}", login.body);
    let first = login.json()["refreshToken"].clone();
    let mut token = first.clone();
    for _ in 0..12 {
        let res = app.post_json("/user/refresh", &json!({"refresh_token": token}));
        assert_eq!(res.status, 200, "{}", res.body);
        token = res.json()["refreshToken"].clone();
    }
    let user = user_id(app, email);
    let rows = app.d1_query(&format!(
        "SELECT count(*) AS n, sum(length(device_info)) AS device_bytes FROM sign_ins \
         WHERE user_id = '{user}'"
    ));
    // The sign-up's sign-in and the login's: 13 tokens issued, 2 rows, the device once.
    assert_eq!(rows[0]["n"], 2, "{rows:?}");
    let stored = rows[0]["device_bytes"].as_i64().unwrap();
    assert!(
        (1500..2048).contains(&stored),
        "device info stored once: {stored} B"
    );
    // A token retired 12 rotations ago is still recognised: the sign-in ends as reuse.
    assert_error(
        &app.post_json("/user/refresh", &json!({"refresh_token": first})),
        401,
        "TOKEN_REUSED",
    );
    assert_error(
        &app.post_json("/user/refresh", &json!({"refresh_token": token})),
        401,
        "TOKEN_REUSED",
    );
}

#[test]
fn the_cron_removes_what_expired_keeps_what_is_needed_and_a_second_run_removes_nothing() {
    let app = spawn_app();
    let email = "ada@retention.example";
    sign_up(&app, email);
    let user = user_id(&app, email);
    let now = now_ms();
    seed_expiring_rows(&app, &user, now);
    // Two nodes registered now; one then looks unseen for 31 days.
    let key = seed_org(&app, "org-ret", 2048);
    let stale_body = signed(&key, &fields("192.0.2.10", now, Some("org-ret")));
    for body in [
        &stale_body,
        &signed(&key, &fields("192.0.2.11", now, Some("org-ret"))),
    ] {
        assert_eq!(app.post_json("/register", body).status, 200);
    }
    app.d1_query(&format!(
        "UPDATE nodes SET updated_at_ms = {} WHERE ip = '192.0.2.10'",
        now - 31 * DAY
    ));

    let line = run_cron(&app);
    let removed = &line["removed"];
    for sweep in [
        "sign_ins",
        "email_verifications",
        "password_resets",
        "login_failures",
        "login_networks",
        "node_tombstones",
        "stale_nodes",
        "secrets_fetches",
        "node_secrets",
    ] {
        assert_eq!(removed[sweep], 1, "{sweep}: {line}");
    }
    assert_eq!(
        removed["unverified_accounts"], 0,
        "nobody signed up 30 days ago: {line}"
    );
    assert_eq!(line["complete"], true, "{line}");
    assert!(line["durationMs"].as_i64().is_some(), "{line}");
    let kept = app.d1_query(
        "SELECT (SELECT group_concat(id) FROM sign_ins WHERE id LIKE 'si-%') AS sign_ins, \
         (SELECT group_concat(id) FROM email_verifications WHERE id LIKE 'ev-%') AS links, \
         (SELECT group_concat(token_hash) FROM password_resets) AS resets, \
         (SELECT group_concat(network) FROM login_failures) AS failures, \
         (SELECT group_concat(network) FROM login_networks WHERE network LIKE '198.%') AS networks, \
         (SELECT group_concat(ip) FROM node_tombstones WHERE org_id = 'org-gone') AS tombstones, \
         (SELECT group_concat(ip) FROM nodes WHERE org_id = 'org-ret') AS nodes, \
         (SELECT group_concat(nonce) FROM secrets_fetches WHERE nonce LIKE 'sf-%') AS fetches, \
         (SELECT group_concat(node_id) FROM \
           (SELECT node_id FROM node_secrets WHERE node_id LIKE 'ns-%' ORDER BY node_id)) AS node_ids",
    );
    assert_eq!(
        kept[0],
        json!({"sign_ins": "si-ended", "links": "ev-late", "resets": "pr-late",
               "failures": "net-open", "networks": "198.51.100.2", "tombstones": "192.0.2.2",
               "nodes": "192.0.2.11", "fetches": "sf-live", "node_ids": "ns-again,ns-old-code"}),
    );
    // The removed node left its replay state: its last captured registration is refused,
    // a newer one brings it back.
    assert_eq!(
        count(
            &app,
            "node_tombstones",
            "org_id = 'org-ret' AND ip = '192.0.2.10'"
        ),
        1
    );
    assert_ne!(
        app.post_json("/register", &stale_body).status,
        200,
        "a replay"
    );
    assert_eq!(count(&app, "nodes", "ip = '192.0.2.10'"), 0);
    let newer = signed(&key, &fields("192.0.2.10", now + 1000, Some("org-ret")));
    assert_eq!(app.post_json("/register", &newer).status, 200);
    // The live sign-up still refreshes; a second run has nothing left to remove.
    let again = run_cron(&app);
    assert_eq!(again["total"], 0, "{again}");
    assert_eq!(count(&app, "sign_ins", &format!("user_id = '{user}'")), 2);
}

#[test]
fn a_run_is_bounded_the_next_finishes_and_concurrent_runs_remove_each_row_once() {
    let app = spawn_app();
    let email = "ada@bounded.example";
    sign_up(&app, email);
    let user = user_id(&app, email);
    let closed = now_ms() - 20 * MINUTE;
    // More closed failure windows than one run may remove (30 rounds × 500; the rounds
    // after the first run only the sweeps still behind, here this one).
    app.d1_query(&format!(
        "{} INSERT INTO login_failures (user_id, network, failures, window_start_ms) \
         SELECT '{user}', 'net-' || n, 1, {closed} FROM seq",
        seq(1, 15_300)
    ));
    let first = run_cron(&app);
    assert_eq!(first["removed"]["login_failures"], 15_000, "{first}");
    assert_eq!(
        (first["rounds"].clone(), first["complete"].clone()),
        (json!(30), json!(false))
    );
    assert_eq!(count(&app, "login_failures", "1"), 300);
    // Two runs at once: between them each remaining row is removed exactly once.
    let before = gatehouse_e2e::maintenance::maintenance_lines(&app).len();
    std::thread::scope(|s| {
        s.spawn(|| trigger_cron(&app));
        s.spawn(|| trigger_cron(&app));
    });
    let runs: Vec<Value> = wait_for_runs(&app, before + 2)[before..].to_vec();
    let total: i64 = runs
        .iter()
        .map(|r| r["removed"]["login_failures"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 300, "{runs:?}");
    assert!(runs
        .iter()
        .all(|r| r["complete"] == true && r.get("error").is_none()));
    assert_eq!(count(&app, "login_failures", "1"), 0);
}

#[test]
fn without_test_hooks_the_clock_cannot_be_moved_and_the_cron_uses_real_time() {
    let app = spawn_app_with(&[("TEST_HOOKS", "off")]);
    let moved = app.post_json("/__test/clock", &json!({"offsetMs": 400 * DAY}));
    assert_eq!(moved.status, 404, "{}", moved.body);
    let email = "ada@real-clock.example";
    let body = sign_up(&app, email);
    // Had the clock moved 400 days, the cron would remove this sign-in and refresh
    // would answer TOKEN_EXPIRED.
    let line = run_cron(&app);
    assert_eq!(line["removed"]["sign_ins"], 0, "{line}");
    let refresh = app.post_json(
        "/user/refresh",
        &json!({"refresh_token": body["refreshToken"]}),
    );
    assert_eq!(refresh.status, 200, "{}", refresh.body);
    let at = line["atMs"].as_i64().unwrap();
    assert!(
        (at - now_ms()).abs() < 10 * MINUTE,
        "the run's clock is real: {at}"
    );
}

/// Moves an account's sign-up, and every verification and reset link it was sent,
/// `days` back.
fn signed_up_days_ago(app: &TestApp, email: &str, days: i64) {
    let at = now_ms() - days * DAY;
    app.d1_query(&format!(
        "UPDATE users SET created_at_ms = {at} WHERE email = '{email}'; \
         UPDATE email_verifications SET created_at_ms = {at}, expires_at_ms = {} \
         WHERE user_id = (SELECT id FROM users WHERE email = '{email}'); \
         UPDATE password_resets SET created_at_ms = {at}, expires_at_ms = {} \
         WHERE user_id = (SELECT id FROM users WHERE email = '{email}')",
        at + DAY,
        at + 3600 * 1000
    ));
}

#[test]
fn an_account_never_verified_goes_after_30_days_with_the_organization_only_it_had() {
    let app = spawn_app();
    // Lapsed: signed up 31 days ago, never verified; signed in, mistyped, asked for a
    // reset: every row it left goes, with its organization and trial.
    let lapsed = "ada@lapsed.example";
    let first = sign_up(&app, lapsed);
    let lapsed_org = first["user"]["orgId"].as_str().unwrap().to_owned();
    assert_eq!(login_at(&app, "198.51.100.7", lapsed, PASSWORD).status, 200);
    assert_eq!(
        login_at(&app, "198.51.100.8", lapsed, "Wrong1horse").status,
        401
    );
    let reset = app.post_json("/user/request-reset-password", &json!({"email": lapsed}));
    assert!(reset.status < 300, "{}", reset.body);
    // A colleague at a verified company's domain who never verified: the account goes
    // with the organization its sign-up founded, the company stays. Its membership of
    // the company is one from before sign-ups joined only once verified, written
    // straight into D1 as such a row is: it goes too.
    let (_, company, _) = verified_user(&app, "boss@kept.example");
    let joined = sign_up(&app, "new@kept.example");
    let joined_org = joined["user"]["orgId"].as_str().unwrap().to_owned();
    assert_ne!(joined_org, company, "a sign-up joins nobody");
    legacy_membership(&app, &company, &user_id(&app, "new@kept.example"));
    // Held: an operator put a key on its organization (gatehouse-cli): kept.
    let held = sign_up(&app, "ada@held.example");
    let held_org = held["user"]["orgId"].as_str().unwrap().to_owned();
    seed_org(&app, &held_org, 2048);
    // Asked for a new link, or a reset, within the last day: kept, the link must work.
    let asking = "ada@asking.example";
    sign_up(&app, asking);
    let resetting = "ada@resetting.example";
    sign_up(&app, resetting);
    // Asked for a link two days ago, then nothing: the day's hold is over.
    let asked_before = "ada@asked-before.example";
    sign_up(&app, asked_before);
    // Young: signed up 29 days ago.
    let young = "ada@young.example";
    sign_up(&app, young);
    for email in [
        lapsed,
        "new@kept.example",
        "ada@held.example",
        asking,
        resetting,
        asked_before,
    ] {
        signed_up_days_ago(&app, email, 31);
    }
    signed_up_days_ago(&app, young, 29);
    let resend = app.post_json("/user/resend-verification", &json!({"email": asking}));
    assert!(resend.status < 300, "{}", resend.body);
    let reset = app.post_json("/user/request-reset-password", &json!({"email": resetting}));
    assert!(reset.status < 300, "{}", reset.body);
    let resend = app.post_json("/user/resend-verification", &json!({"email": asked_before}));
    assert!(resend.status < 300, "{}", resend.body);
    app.d1_query(&format!(
        "UPDATE email_verifications SET created_at_ms = created_at_ms - 2 * {DAY}, \
         expires_at_ms = expires_at_ms - 2 * {DAY} WHERE user_id = '{}'",
        user_id(&app, asked_before)
    ));
    let lapsed_id = user_id(&app, lapsed);
    let joined_id = user_id(&app, "new@kept.example");

    let line = run_cron(&app);
    assert_eq!(line["removed"]["unverified_accounts"], 3, "{line}");
    let users: Vec<Value> = app
        .d1_query("SELECT email FROM users ORDER BY email")
        .into_iter()
        .map(|r| r["email"].clone())
        .collect();
    assert_eq!(
        users,
        json!([
            "ada@asking.example",
            "ada@held.example",
            "ada@resetting.example",
            "ada@young.example",
            "boss@kept.example"
        ])
        .as_array()
        .unwrap()
        .clone()
    );
    for (table, column) in [
        ("sign_ins", "user_id"),
        ("email_verifications", "user_id"),
        ("password_resets", "user_id"),
        ("login_failures", "user_id"),
        ("login_networks", "user_id"),
        ("org_members", "user_id"),
    ] {
        let condition = format!("{column} IN ('{lapsed_id}', '{joined_id}')");
        assert_eq!(
            count(&app, table, &condition),
            0,
            "{table} keeps a removed account's rows"
        );
    }
    let org = format!("'{lapsed_org}', '{joined_org}'");
    assert_eq!(count(&app, "organizations", &format!("id IN ({org})")), 0);
    assert_eq!(
        count(&app, "subscriptions", &format!("org_id IN ({org})")),
        0
    );
    assert_eq!(
        count(&app, "org_members", &format!("org_id = '{company}'")),
        1
    );
    assert_eq!(
        count(
            &app,
            "organizations",
            &format!("id IN ('{company}', '{held_org}')")
        ),
        2
    );
    assert_eq!(
        count(&app, "org_keys", &format!("org_id = '{held_org}'")),
        1
    );
    // Every reference still holds (the batch deferred its foreign keys to its end).
    assert_eq!(
        app.d1_query("PRAGMA foreign_key_check"),
        Vec::<Value>::new()
    );
    // A table added later that refers to an account or an organization would make this
    // sweep's batch, and with it the whole maintenance, fail unless the sweep deletes its
    // rows (or counts them as holding the account) first, and so must the operator's
    // erasure: both delete by gatehouse_core::account::rows' lists, so every reference
    // is a table of those, or one both handle by name (memberships, the trial, and an
    // audit entry's actor, which holds the account).
    let references: Vec<String> = app
        .d1_query(
            "SELECT m.name || '.' || p.\"from\" AS r FROM sqlite_master m, \
             pragma_foreign_key_list(m.name) p WHERE m.type = 'table' \
             AND substr(m.name, 1, 4) <> '_cf_' AND p.\"table\" IN ('users', 'organizations') ORDER BY 1",
        )
        .iter()
        .map(|r| r["r"].as_str().unwrap().to_owned())
        .collect();
    // And each personal table does refer to the account (the list is not stale).
    for table in PERSONAL_TABLES {
        assert!(
            references.contains(&format!("{table}.user_id")),
            "{table}: {references:?}"
        );
    }
    for reference in &references {
        let (table, column) = reference.split_once('.').unwrap();
        let listed = match column {
            "user_id" => PERSONAL_TABLES.contains(&table) || table == "org_members",
            "org_id" => {
                ORGANIZATION_HOLDINGS.contains(&table)
                    || ["org_members", "subscriptions"].contains(&table)
            }
            _ => reference == "key_audit.actor_user_id",
        };
        assert!(
            listed,
            "{reference} refers to an account or an organization: its table belongs in \
             gatehouse_core::account::rows"
        );
    }

    // The removed sign-in's token is refused; the address is free to sign up again
    // (it was held by someone who never proved it theirs).
    let refresh = app.post_json(
        "/user/refresh",
        &json!({"refresh_token": first["refreshToken"]}),
    );
    assert_eq!(refresh.status, 401, "{}", refresh.body);
    sign_up(&app, lapsed);
    assert_eq!(run_cron(&app)["removed"]["unverified_accounts"], 0);
}
