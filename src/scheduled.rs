//! The Cron Trigger (`[triggers] crons` in wrangler.toml): the scheduled maintenance
//! that keeps storage from growing with time (docs/operations.md, "Scheduled
//! maintenance"). Rounds of bounded deletes (store::maintenance) until every table is
//! swept or the round cap (core::maintenance::MAX_ROUNDS) is reached; then one JSON log
//! line and one data point. Locally: `wrangler dev --test-scheduled` and
//! `GET /__scheduled?cron=...` (the e2e harness does, tests/tests/maintenance.rs).

use crate::store::{maintenance, Db};
use gatehouse_core::maintenance::{Policy, Report, Sweep};
use worker::{Env, ScheduledEvent};

pub async fn run(event: ScheduledEvent, env: Env) {
    let cron = event.cron();
    let config = match crate::config::load(&env) {
        Ok(c) => c,
        Err(e) => {
            worker::console_error!(
                "{}",
                serde_json::json!({"msg": "maintenance", "cron": cron, "error": e.to_string()})
            );
            // Also a data point, so the alert on failed runs sees a run that never began.
            write_data_point(&env, "error", cron, vec![0.0; 3]);
            return;
        }
    };
    let policy = Policy::of(&config);
    let db = Db::new(&env, None, Default::default(), None);
    let started_ms = worker::Date::now().as_millis() as i64;
    // One "now" for the whole run (the test clock too, src/clock.rs).
    let now_ms = crate::clock::now_ms();
    let mut report = Report::default();
    let mut error = None;
    // Every sweep, then only those still behind (core::maintenance::MAX_ROUNDS).
    let mut sweeps = Sweep::ALL.to_vec();
    while !sweeps.is_empty() {
        match maintenance::sweep_round(&db, &policy, now_ms, &sweeps).await {
            Ok(removed) => sweeps = report.add_round(&sweeps, &removed),
            // The store has logged the cause. One sweep D1 refuses every time (a
            // statement past its limits, a foreign key at commit) must not stop the
            // others' retention for good: the round's first failure makes it again, a
            // sweep at a time, so the rest go on and the line names the one that fails.
            // Once a run, so that its statements stay within D1's 1,000 queries
            // (MAX_ROUNDS rounds and this one); a later failure ends it.
            Err(_) if error.is_none() && sweeps.len() > 1 => {
                error = Some("storage");
                let (mut swept, mut removed) = (Vec::new(), Vec::new());
                for sweep in sweeps {
                    match maintenance::sweep_round(&db, &policy, now_ms, &[sweep]).await {
                        Ok(n) => {
                            swept.push(sweep);
                            removed.extend(n);
                        }
                        Err(_) => report.failed.push(sweep),
                    }
                }
                sweeps = report.add_round(&swept, &removed);
            }
            Err(_) => {
                error = Some("storage");
                if sweeps.len() == 1 {
                    report.failed.append(&mut sweeps);
                }
                break;
            }
        }
    }
    let duration_ms = (worker::Date::now().as_millis() as i64 - started_ms).max(0);
    let mut line = report.log_line(&cron, now_ms, duration_ms);
    if let Some(e) = error {
        line["error"] = e.into();
    }
    worker::console_log!("{line}");
    let mut doubles = vec![
        report.total() as f64,
        duration_ms as f64,
        f64::from(report.rounds),
    ];
    doubles.extend(report.removed.iter().map(|&n| n as f64));
    let outcome = match (error, report.complete) {
        (Some(_), _) => "error",
        (None, true) => "complete",
        (None, false) => "partial",
    };
    write_data_point(&env, outcome, cron, doubles);
}

/// The run's data point: blobs `maintenance`, outcome, cron; doubles total removed,
/// duration ms, rounds, then each sweep's count (docs/operations.md).
fn write_data_point(env: &Env, outcome: &str, cron: String, doubles: Vec<f64>) {
    let blobs = ["maintenance".to_owned(), outcome.to_owned(), cron];
    if let Err(e) = crate::observe::write_data_point(env, "maintenance", &blobs, &doubles) {
        worker::console_warn!("metrics: data point not written: {e}");
    }
}
