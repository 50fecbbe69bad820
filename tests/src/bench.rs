//! What the benchmark binaries (src/bin/bench_*.rs) share: Cloudflare's list prices,
//! the per-request counts the worker reports with test hooks, and the server's CPU
//! time read from /proc.

use crate::TestResponse;

/// Cloudflare's list prices, in dollars per million, as of [`PRICES_AS_OF`], from
/// [`PRICE_SOURCES`] (beyond each plan's monthly inclusions, which the tables leave
/// out: at scale they are a rounding error). The one place they live in code; the
/// tables in docs/performance.md and the README are printed from it by `make bench`.
pub struct Prices {
    pub request: f64,
    /// Per million CPU milliseconds.
    pub cpu_ms: f64,
    pub d1_row_written: f64,
    pub d1_row_read: f64,
    pub kv_write: f64,
    pub kv_read: f64,
    /// Email Sending (Cloudflare Email Service, the `send_email` binding), per million
    /// messages: $0.35 per 1,000 beyond the 3,000 a month Workers Paid includes.
    pub email: f64,
}

pub const PRICES: Prices = Prices {
    request: 0.30,
    cpu_ms: 0.02,
    d1_row_written: 1.00,
    d1_row_read: 0.001,
    kv_write: 5.00,
    kv_read: 0.50,
    email: 350.00,
};
pub const PRICES_AS_OF: &str = "2026-11-30";
pub const PRICE_SOURCES: [&str; 4] = [
    "https://developers.cloudflare.com/workers/platform/pricing/",
    "https://developers.cloudflare.com/d1/platform/pricing/",
    "https://developers.cloudflare.com/kv/platform/pricing/",
    "https://developers.cloudflare.com/email-service/platform/pricing/",
];

/// What one request cost, as the worker counts it (TEST_HOOKS headers). `None` where
/// this build does not report a count.
#[derive(Clone, Copy, Default, Debug)]
pub struct Counts {
    pub d1_primary: Option<f64>,
    pub d1_replica: Option<f64>,
    pub rows_read: Option<f64>,
    pub rows_written: Option<f64>,
    pub kv_reads: Option<f64>,
    pub kv_writes: Option<f64>,
    /// Mail sent per request: not a header (it is sent after the answer), counted by
    /// the benchmark from the local mail simulation and set with [`Counts::with_emails`].
    pub emails: Option<f64>,
}

impl Counts {
    pub fn of(res: &TestResponse) -> Counts {
        let n = |name: &str| res.header(name).and_then(|v| v.trim().parse::<f64>().ok());
        Counts {
            d1_primary: n("x-gatehouse-d1-primary"),
            d1_replica: n("x-gatehouse-d1-replica"),
            rows_read: n("x-gatehouse-d1-rows-read"),
            rows_written: n("x-gatehouse-d1-rows-written"),
            kv_reads: n("x-gatehouse-kv-reads"),
            kv_writes: n("x-gatehouse-kv-writes"),
            emails: None,
        }
    }

    pub fn with_emails(self, emails: f64) -> Counts {
        Counts {
            emails: Some(emails),
            ..self
        }
    }

    /// The mean of `all` field by field (a field is `None` if any request lacked it).
    pub fn mean(all: &[Counts]) -> Counts {
        let avg = |f: fn(&Counts) -> Option<f64>| -> Option<f64> {
            let values: Option<Vec<f64>> = all.iter().map(f).collect();
            values
                .filter(|v| !v.is_empty())
                .map(|v| v.iter().sum::<f64>() / v.len() as f64)
        };
        Counts {
            d1_primary: avg(|c| c.d1_primary),
            d1_replica: avg(|c| c.d1_replica),
            rows_read: avg(|c| c.rows_read),
            rows_written: avg(|c| c.rows_written),
            kv_reads: avg(|c| c.kv_reads),
            kv_writes: avg(|c| c.kv_writes),
            emails: avg(|c| c.emails),
        }
    }

    /// Dollars per million such requests using `cpu_ms` of CPU each, at [`PRICES`];
    /// `None` if a count is missing.
    pub fn dollars_per_million(&self, cpu_ms: f64) -> Option<f64> {
        let p = &PRICES;
        Some(
            p.request
                + cpu_ms * p.cpu_ms
                + self.rows_written? * p.d1_row_written
                + self.rows_read? * p.d1_row_read
                + self.kv_writes? * p.kv_write
                + self.kv_reads? * p.kv_read
                + self.emails? * p.email,
        )
    }
}

/// A count for a table cell: "n/a" when this build does not report it.
pub fn cell(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.decimals$}"))
}

/// CPU time (ns) used so far by the processes of a worker's process group whose
/// command is `only` (e.g. "workerd": the worker with its local D1 and KV, without
/// wrangler's node), or all of them, from /proc/*/task/*/schedstat. Unlike wall time
/// it does not grow while other work on the machine holds the cores.
pub fn group_cpu_ns(group: i32, only: Option<&str>) -> u64 {
    let mut total = 0;
    for pid in group_pids(group, only) {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let ns = std::fs::read_to_string(task.path().join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok());
            total += ns.unwrap_or(0);
        }
    }
    total
}

/// The processes of process group `group` whose command is `only`, or all of them.
pub fn group_pids(group: i32, only: Option<&str>) -> Vec<i32> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids = Vec::new();
    for entry in procs.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp …": comm may hold spaces, so split at the last ')'.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let comm = head.split_once('(').map_or("", |(_, c)| c);
        let pgrp = rest
            .split_whitespace()
            .nth(2)
            .and_then(|g| g.parse::<i32>().ok());
        if pgrp == Some(group) && only.is_none_or(|o| o == comm) {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    pids
}

/// A count a benchmark tool takes from its environment (`WINDOWS=24`), or `default`.
pub fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `q` quantile of `values` (sorted here).
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() as f64 * q) as usize).min(values.len() - 1)]
}

/// The standard error of the mean of `values`.
pub fn stderr(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (variance / n).sqrt()
}
