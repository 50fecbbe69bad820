//! The Cron Trigger as wrangler runs it locally (`wrangler dev --test-scheduled`):
//! `GET /__scheduled?cron=…` runs the worker's `scheduled` handler, and its one JSON log
//! line per run says what it removed.

use crate::TestApp;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The cron in wrangler.toml `[triggers]`.
pub const CRON: &str = "17 * * * *";

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
