//! Benchmark: what the KV replay-nonce read adds to a warm heartbeat, with simulated
//! distance (docs/performance.md, "What a request costs").
//!
//! Boots the built worker (test hooks on) with `D1_LATENCY_MS` per primary round trip
//! and, per configuration, `KV_LATENCY_MS` per KV read (a fresh nonce always misses
//! KV's edge cache and goes to its central store) — once with `REPLAY_NONCES=kv` (the
//! default) and once with `REPLAY_NONCES=d1` (no KV at all). Each configuration
//! registers NODES nodes (cold, untimed), then times their unchanged heartbeats and
//! their changed ones, one request at a time, and prints the p50 with the counted
//! cost (rows written, KV reads, KV writes) from the worker's own headers.
//!
//!     cargo run -p gatehouse-e2e --bin bench_nonce --release

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::nodes::{fields, now_ms, seed_org, signed};
use gatehouse_e2e::{spawn_app_with, TestApp, TestResponse};
use std::time::Instant;

const NODES: usize = 30;
const D1_LATENCY_MS: u32 = 50;
/// (label, REPLAY_NONCES, KV_LATENCY_MS)
const CONFIGS: [(&str, &str, u32); 4] = [
    ("kv, KV next door", "kv", 0),
    ("kv, KV read 50 ms", "kv", 50),
    ("kv, KV read 150 ms", "kv", 150),
    ("d1 (no KV)", "d1", 0),
];

fn header(res: &TestResponse, name: &str) -> String {
    res.header(name).unwrap_or("?").to_owned()
}

fn p50(mut ms: Vec<f64>) -> f64 {
    ms.sort_by(|a, b| a.total_cmp(b));
    ms[ms.len() / 2]
}

/// Times one heartbeat per node at `ts` (version `version`); returns the p50 and the
/// last answer's counted cost.
fn beat(app: &TestApp, key: &PrivateKey, org: &str, ts: i64, version: &str) -> (f64, String) {
    let mut ms = Vec::new();
    let mut cost = String::new();
    for i in 0..NODES {
        let mut f = fields(&format!("198.51.100.{}", i + 1), ts, Some(org));
        f.version = version.into();
        let body = signed(key, &f);
        let started = Instant::now();
        let res = app.post_json("/register", &body);
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(res.status, 200, "{}", res.body);
        cost = format!(
            "{} rows written, {} KV reads, {} KV writes, {} primary",
            header(&res, "x-gatehouse-d1-rows-written"),
            header(&res, "x-gatehouse-kv-reads"),
            header(&res, "x-gatehouse-kv-writes"),
            header(&res, "x-gatehouse-d1-primary"),
        );
    }
    (p50(ms), cost)
}

fn main() {
    println!(
        "Warm /register, p50 ms, one request at a time, D1_LATENCY_MS={D1_LATENCY_MS} per primary round trip, {NODES} nodes"
    );
    println!();
    println!("| replay nonces | unchanged heartbeat | its cost | changed heartbeat | its cost |");
    println!("|---|---|---|---|---|");
    for (n, (label, nonces, kv_ms)) in CONFIGS.iter().enumerate() {
        let d1 = D1_LATENCY_MS.to_string();
        let kv = kv_ms.to_string();
        let app = spawn_app_with(&[
            ("D1_LATENCY_MS", &d1),
            ("KV_LATENCY_MS", &kv),
            ("REPLAY_NONCES", nonces),
        ]);
        let org = format!("org-bench-{n}");
        let key = seed_org(&app, &org, 2048);
        let t = now_ms();
        beat(&app, &key, &org, t, "1.0"); // cold: first registrations, untimed
        let (unchanged, unchanged_cost) = beat(&app, &key, &org, t + 1000, "1.0");
        let (changed, changed_cost) = beat(&app, &key, &org, t + 2000, "2.0");
        println!("| {label} | {unchanged:.1} | {unchanged_cost} | {changed:.1} | {changed_cost} |");
    }
}
