//! The Cron Trigger as wrangler runs it locally (`wrangler dev --test-scheduled`):
//! `GET /__scheduled?cron=…` runs the worker's `scheduled` handler, and its one JSON log
//! line per run says what it removed.

use crate::TestApp;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The cron in wrangler.toml `[triggers]`.
pub const CRON: &str = "7,17,27,37,47,57 * * * *";

/// Every maintenance log line so far, parsed, oldest first.
pub fn maintenance_lines(app: &TestApp) -> Vec<Value> {
    app.log()
        .lines()
        .filter(|l| l.contains("\"msg\":\"maintenance\""))
        .filter_map(|l| serde_json::from_str(&l[l.find('{')?..]).ok())
        .collect()
}

/// Asks wrangler to run the scheduled handler once, without waiting for its log line.
pub fn trigger_cron(app: &TestApp) {
    let res = app.get(&format!("/__scheduled?cron={}", CRON.replace(' ', "+")));
    assert_eq!(res.status, 200, "{}", res.body);
}

/// Waits (up to 30 s) until there are `count` maintenance lines; returns them all.
pub fn wait_for_runs(app: &TestApp, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lines = maintenance_lines(app);
        if lines.len() >= count {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "no maintenance line #{count} after 30 s:\n{}",
            app.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs the scheduled maintenance once and returns its log line.
pub fn run_cron(app: &TestApp) -> Value {
    let before = maintenance_lines(app).len();
    trigger_cron(app);
    let line = wait_for_runs(app, before + 1)[before].clone();
    assert!(line.get("error").is_none(), "the run failed: {line}");
    line
}

pub const DAY: i64 = 24 * 3600 * 1000;
pub const MINUTE: i64 = 60 * 1000;

/// The rows of `table` that meet `condition`.
pub fn count(app: &TestApp, table: &str, condition: &str) -> i64 {
    app.d1_query(&format!(
        "SELECT count(*) AS n FROM {table} WHERE {condition}"
    ))[0]["n"]
        .as_i64()
        .unwrap()
}

/// Seeds one row past its retention and one within it in every table that expires.
pub fn seed_expiring_rows(app: &TestApp, user: &str, now: i64) {
    let old_signed = now - 40 * DAY;
    app.d1_query(&format!(
        "INSERT INTO sign_ins (id, user_id, token_id, token_hash, created_at_ms, last_used_ms, \
           expires_at_ms, ended_at_ms) VALUES \
           ('si-old', '{user}', 'tok-old', 'h', {old_signed}, {old_signed}, {}, NULL), \
           ('si-ended', '{user}', 'tok-ended', 'h', {old_signed}, {old_signed}, {}, {});
         INSERT INTO email_verifications (token_hash, user_id, created_at_ms, expires_at_ms, id) \
           VALUES ('ev-old', '{user}', {}, {}, 'ev-old'), ('ev-late', '{user}', {}, {}, 'ev-late');
         INSERT INTO password_resets (token_hash, user_id, created_at_ms, expires_at_ms) VALUES \
           ('pr-old', '{user}', {}, {}), ('pr-late', '{user}', {}, {});
         INSERT INTO login_failures (user_id, network, failures, window_start_ms) VALUES \
           ('{user}', 'net-closed', 3, {}), ('{user}', 'net-open', 2, {});
         INSERT INTO login_networks (user_id, network, last_success_ms) VALUES \
           ('{user}', '198.51.100.1', {}), ('{user}', '198.51.100.2', {});
         INSERT INTO node_tombstones (org_id, ip, last_signed_at_ms, removed_at_ms) VALUES \
           ('org-gone', '192.0.2.1', {old_signed}, {}), ('org-gone', '192.0.2.2', {old_signed}, {});
         INSERT INTO secrets_fetches (nonce, expires_at_ms) VALUES ('sf-old', {}), ('sf-live', {});
         INSERT INTO node_secrets (node_id, secret_hash, created_at_ms, seen_at_ms) VALUES \
           ('ns-silent', 'h', {}, {}), ('ns-again', 'h', {}, {}), ('ns-old-code', 'h', {}, 0)",
        now - 2 * DAY,
        now - 12 * 3600 * 1000,
        now - DAY,
        now - 10 * DAY,
        now - 9 * DAY,
        now - 3 * DAY,
        now - 2 * DAY,
        now - 9 * DAY,
        now - 8 * DAY,
        now - 2 * DAY,
        now - DAY,
        now - 16 * MINUTE,
        now - MINUTE,
        now - 91 * DAY,
        now - 89 * DAY,
        now - 12 * MINUTE,
        now - MINUTE,
        now - MINUTE,
        now + 5 * MINUTE,
        // Registered 100 days ago: not since (gone), again 29 days ago (kept); and one
        // the code before migration 0020 inserted a minute ago, with no seen_at_ms.
        now - 100 * DAY,
        now - 31 * DAY,
        now - 100 * DAY,
        now - 29 * DAY,
        now - MINUTE,
    ));
}
