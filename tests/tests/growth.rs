//! A simulated year (issue 24): the worker's clock is moved a week at a time
//! (`POST /__test/clock`, TEST_HOOKS only) while N people stay signed in — refreshing
//! every 15 minutes in bursts, signing in again from new networks, mistyping their
//! password, asking for reset and verification links, a stranger signing up and never
//! verifying — M nodes keep registering, new nodes come and go, and the scheduled
//! maintenance runs once a simulated week. Every
//! table's row count must stay under a bound that does not depend on how long the
//! service has run; the rows and bytes per table are printed at the end
//! (docs/operations.md, "Size" has the numbers and the formula).

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::accounts::{login_at, sign_up, verified_user};
use gatehouse_e2e::maintenance::run_cron;
use gatehouse_e2e::nodes::{installer_body, now_ms};
use gatehouse_e2e::{spawn_app, TestApp};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const MINUTE: i64 = 60 * 1000;
const DAY: i64 = 24 * 60 * MINUTE;
const WEEK: i64 = 7 * DAY;
/// People who stay signed in all year.
const USERS: usize = 3;
/// Nodes that register all year.
const NODES: usize = 3;
const WEEKS: i64 = 52;
/// Refreshes per person per simulated week, 15 minutes apart (a real client makes
/// 672; rows do not depend on the number, which is the point).
const REFRESHES: i64 = 3;
/// A person signs in again (a new sign-in, from a new network) every this many weeks.
const LOGIN_EVERY: i64 = 4;
/// A 1.8 KiB deviceInfo, as measured from a browser client (issue 24).
fn device_info(week: i64) -> Value {
    json!({"userAgent": format!("Mozilla/5.0 week {week}"), "deviceType": "DESKTOP",
           "os": "Linux", "browser": "Firefox", "padding": "d".repeat(1700)})
}

struct Clock<'a> {
    app: &'a TestApp,
    offset_ms: i64,
}

impl Clock<'_> {
    fn advance(&mut self, ms: i64) {
        self.offset_ms += ms;
        let res = self
            .app
            .post_json("/__test/clock", &json!({"offsetMs": self.offset_ms}));
        assert_eq!(res.status, 200, "{}", res.body);
    }

    fn now_ms(&self) -> i64 {
        now_ms() + self.offset_ms
    }
}

/// Rows and payload bytes per table.
type Sizes = BTreeMap<String, (i64, i64)>;

/// Rows and payload bytes per table (all tables but SQLite's, D1's and Cloudflare's
/// own), in two queries.
fn rows_and_bytes(app: &TestApp) -> Sizes {
    let columns = app.d1_query(
        "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite%' AND m.name NOT LIKE '\\_cf%' \
         ESCAPE '\\' AND m.name <> 'd1_migrations' ORDER BY m.name",
    );
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in &columns {
        tables
            .entry(c["t"].as_str().unwrap().to_owned())
            .or_default()
            .push(c["c"].as_str().unwrap().to_owned());
    }
    // One row of scalar subqueries: D1 refuses long compound SELECTs (UNION ALL).
    let sql: Vec<String> = tables
        .iter()
        .map(|(t, cs)| {
            let bytes: Vec<String> = cs
                .iter()
                .map(|c| format!("coalesce(length(CAST({c} AS BLOB)), 0)"))
                .collect();
            format!(
                "(SELECT count(*) FROM {t}) AS \"{t}.n\", \
                 (SELECT coalesce(sum({}), 0) FROM {t}) AS \"{t}.b\"",
                bytes.join(" + ")
            )
        })
        .collect();
    let row = app.d1_query(&format!("SELECT {}", sql.join(", ")))[0].clone();
    tables
        .keys()
        .map(|t| {
            let n = row[format!("{t}.n")].as_i64().unwrap();
            (t.clone(), (n, row[format!("{t}.b")].as_i64().unwrap()))
        })
        .collect()
}

/// The bound each table must stay under, from the simulation's parameters — never
/// from the number of weeks simulated. Tables not named are written at set-up only.
fn bound(table: &str, baseline: i64) -> i64 {
    let users = USERS as i64 + 1; // and the one who never verifies
    let runs_per_month = 31 * DAY / WEEK + 1; // maintenance runs within a retention month
                                              // One drive-by sign-up a week, removed unverified after 30 days: the last month's.
    let drive_bys = runs_per_month + 1;
    baseline
        + match table {
            // The drive-bys' accounts, organizations, trials, memberships.
            "users" | "organizations" | "subscriptions" | "org_members" => drive_bys,
            // A sign-in outlives its last refresh by 30 days + 1 day of grace; one per
            // login, a login every LOGIN_EVERY weeks, plus the current one.
            "sign_ins" => users * (runs_per_month / LOGIN_EVERY + 2) + drive_bys,
            // A link lives 1 day + 7 days of grace: the links of two weeks.
            "email_verifications" => 2 * (users + 1),
            "password_resets" => 2 * users,
            // A failure window (15 minutes) never outlives the next run.
            "login_failures" => users,
            // Networks signed in from within 90 days (+ the run interval).
            "login_networks" => users * (91 * DAY / (LOGIN_EVERY * WEEK) + 2),
            // The nodes that register, plus one new node a week kept for 30 days.
            "nodes" => NODES as i64 + runs_per_month + 1,
            // Removed nodes' tombstones live 11 minutes: at most one run's removals.
            "node_tombstones" => 2,
            _ => 0,
        }
}

#[test]
fn a_simulated_year_keeps_every_table_under_a_bound_that_does_not_grow() {
    let app = spawn_app();
    let started = std::time::Instant::now();
    // Set-up at the real clock: people, the unverified one, the nodes' organization.
    let mut people: Vec<(String, Value)> = (0..USERS)
        .map(|i| {
            let email = format!("user{i}@growth.example");
            let (_, _, body) = verified_user(&app, &email);
            (email, body["refreshToken"].clone())
        })
        .collect();
    sign_up(&app, "never-verifies@growth.example");
    let (_, org, _) = verified_user(&app, "nodes@growth.example");
    let key = PrivateKey::generate(2048).expect("RSA key");
    app.seed_org_key(&org, "growth-key", &key.public_key().to_spki_pem(), 2048);
    let baseline: Sizes = rows_and_bytes(&app);

    let mut clock = Clock {
        app: &app,
        offset_ms: 0,
    };
    let mut history: Vec<(i64, Sizes)> = Vec::new();
    for week in 1..=WEEKS {
        clock.advance(WEEK - REFRESHES * 15 * MINUTE);
        // People: refresh every 15 minutes, sometimes sign in again from a new network.
        for burst in 0..REFRESHES {
            clock.advance(15 * MINUTE);
            for (i, (email, token)) in people.iter_mut().enumerate() {
                if burst == 0 && week % LOGIN_EVERY == i as i64 % LOGIN_EVERY {
                    let ip = format!("100.{}.{}.{}", 64 + i, week, 1);
                    let mut body = json!({"email": email, "password": "Correct1horse",
                                          "deviceInfo": device_info(week)});
                    body["email"] = json!(email);
                    let res = app.request(
                        "POST",
                        "/user/login",
                        &[
                            ("content-type", "application/json"),
                            ("cf-connecting-ip", &ip),
                        ],
                        Some(body.to_string().as_bytes()),
                    );
                    assert_eq!(res.status, 200, "week {week}: {}", res.body);
                    *token = res.json()["refreshToken"].clone();
                }
                let res = app.post_json("/user/refresh", &json!({"refresh_token": token}));
                assert_eq!(res.status, 200, "week {week}: {}", res.body);
                *token = res.json()["refreshToken"].clone();
            }
        }
        // A mistyped password from a stranger's network, a reset link, a verification
        // link for the person who never verifies.
        let (email, _) = &people[week as usize % USERS];
        let wrong = login_at(&app, &format!("198.18.{week}.9"), email, "Wrong1horse");
        assert_eq!(wrong.status, 401, "{}", wrong.body);
        for (path, to) in [
            ("/user/request-reset-password", email.as_str()),
            ("/user/resend-verification", "never-verifies@growth.example"),
        ] {
            let res = app.post_json(path, &json!({"email": to}));
            assert!(res.status < 300, "week {week} {path}: {}", res.body);
        }
        // A drive-by sign-up, with its own company, that never verifies nor returns.
        sign_up(&app, &format!("drive-by@week{week}.example"));
        // Nodes: the steady ones re-register, one new node arrives and never returns.
        let secs = clock.now_ms() / 1000;
        let churn = format!("198.51.100.{week}");
        let steady: Vec<String> = (0..NODES)
            .map(|n| format!("203.0.113.{}", 10 + n))
            .collect();
        for ip in steady.iter().chain([&churn]) {
            let res = app.post_json("/register", &installer_body(&key, ip, secs, &org));
            assert_eq!(res.status, 200, "week {week} {ip}: {}", res.body);
        }
        let run = run_cron(&app);
        assert_eq!(run["complete"], true, "week {week}: {run}");
        if week % 13 == 0 {
            history.push((week, rows_and_bytes(&app)));
        }
    }

    let (_, last) = history.last().expect("a quarter measured");
    println!("after {WEEKS} simulated weeks ({:?}):", started.elapsed());
    println!(
        "{:<22} {:>7} {:>10} {:>7}",
        "table", "rows", "bytes", "bound"
    );
    for (table, (rows, bytes)) in last {
        let base = baseline.get(table).map_or(0, |b| b.0);
        let limit = bound(table, base);
        let quarters: Vec<i64> = history.iter().map(|(_, h)| h[table].0).collect();
        println!("{table:<22} {rows:>7} {bytes:>10} {limit:>7}   by quarter {quarters:?}");
    }
    let mut over = Vec::new();
    for (week, counts) in &history {
        for (table, (rows, _)) in counts {
            let base = baseline.get(table).map_or(0, |b| b.0);
            if *rows > bound(table, base) {
                over.push(format!(
                    "week {week}: {table} {rows} > {}",
                    bound(table, base)
                ));
            }
        }
    }
    assert!(over.is_empty(), "over their bound: {over:#?}");
    // Not merely under a loose bound: the last quarter holds no more than the first.
    for table in [
        "sign_ins",
        "nodes",
        "login_networks",
        "email_verifications",
        "users",
        "organizations",
    ] {
        let (first, last) = (history[0].1[table].0, history[history.len() - 1].1[table].0);
        assert!(last <= first + 1, "{table} grows: {first} → {last}");
    }
}
