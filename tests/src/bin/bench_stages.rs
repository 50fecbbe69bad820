//! Benchmark: where `POST /register`'s time goes, in the Rust worker and in the
//! plain-JS anchor (bench/js-worker), for a new node and for a warm re-registration.
//!
//! Neither worker is instrumented (inside workerd the clock only advances on I/O, so a
//! worker cannot time its own CPU stages): instead, requests that stop at successive
//! stages of the same path — refused before any storage, refused by the KV nonce,
//! refused after the D1 read with no key to try, refused by the RSA check, accepted —
//! sent in blocks of BLOCK of one kind, kinds and workers taking turns block by block.
//! For each kind: the p50 latency, and workerd's CPU time per request over its blocks
//! (bench::group_cpu_ns), which other work on the machine barely moves. The step from
//! one stage to the next is what that stage costs; read the Rust/JS ratios, not the
//! absolute numbers.
//!
//!     cargo run -p gatehouse-e2e --bin bench_stages --release   (part of `make bench`)

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::bench::group_cpu_ns;
use gatehouse_e2e::nodes::{fields, now_ms, seed_org, signed};
use gatehouse_e2e::{project_root, spawn_app_with, spawn_worker, TestApp};
use serde_json::Value;
use std::time::Instant;

/// Like the JS anchor's SQL: every accepted heartbeat writes its row (writes only on
/// change would spare the Rust worker the write that the anchor makes).
const WRITE_EVERY_HEARTBEAT: (&str, &str) = ("NODE_SEEN_RESOLUTION_SECONDS", "0");
const ROUNDS: usize = 130;
const BLOCK: usize = 10;

/// The requests of one round, in path order, with the status each must get.
const STAGES: [(&str, u16); 7] = [
    (
        "new node, stale timestamp: routing, body, JSON, field checks, render",
        400,
    ),
    ("new node, replayed: + KV nonce read", 400),
    (
        "new node, unknown organization: + D1 read batch (no key to try)",
        400,
    ),
    ("new node, signed by another key: + RSA verify", 400),
    ("new node, accepted: + D1 write batch, KV nonce write", 200),
    (
        "warm, older than the last accepted: nonce read, RSA verify (cached key), D1 update batch",
        400,
    ),
    ("warm, accepted: + KV nonce write", 200),
];

struct Keys {
    own: PrivateKey,
    stranger: PrivateKey,
}

/// The bodies of round `i`. The warm node `ip(6)` was registered at `base` (prime).
fn bodies(keys: &Keys, org: &str, i: usize, base: i64) -> [Value; 7] {
    let now = now_ms();
    let ip = |stage: usize| format!("10.{}.{}.{}", 200 + stage, i / 250, i % 250 + 1);
    let accepted = signed(&keys.own, &fields(&ip(4), now, Some(org)));
    // The warm node's accepted request, then one signed just before it (older).
    let warm_at = base + 2 * (i as i64 + 1);
    [
        signed(&keys.own, &fields(&ip(0), now - 3_600_000, Some(org))),
        accepted.clone(),
        signed(&keys.own, &fields(&ip(2), now, Some("org-nobody"))),
        signed(&keys.stranger, &fields(&ip(3), now, Some(org))),
        accepted,
        signed(&keys.own, &fields(&ip(6), warm_at - 1, Some(org))),
        signed(&keys.own, &fields(&ip(6), warm_at, Some(org))),
    ]
}

/// Registers the warm node (cold, untimed) so that this isolate knows it.
fn prime(app: &TestApp, keys: &Keys, org: &str, base: i64) {
    let ip = format!("10.{}.0.1", 200 + 6);
    let res = app.post_json(
        "/register",
        &signed(&keys.own, &fields(&ip, base, Some(org))),
    );
    assert_eq!(res.status, 200, "prime: {}", res.body);
}

/// Sends `body` and returns the milliseconds it took; counts a wrong status.
fn time(app: &TestApp, body: &Value, expected: u16, unexpected: &mut usize) -> f64 {
    let sent = Instant::now();
    let res = app.post_json("/register", body);
    let ms = sent.elapsed().as_secs_f64() * 1000.0;
    if res.status != expected {
        if *unexpected == 0 {
            eprintln!(
                "unexpected {} (wanted {expected}): {}",
                res.status, res.body
            );
        }
        *unexpected += 1;
    }
    ms
}

fn p50(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Per worker and stage: the latencies, and the server CPU time over all of them.
#[derive(Clone, Default)]
struct Cell {
    ms: Vec<f64>,
    cpu_ns: u64,
}

fn main() {
    let rust = spawn_app_with(&[("TEST_HOOKS", "off"), WRITE_EVERY_HEARTBEAT]);
    let js = spawn_worker(&project_root().join("bench/js-worker/wrangler.toml"));
    let workers = [&rust, &js];
    let org = "org-stages";
    let keys: Vec<Keys> = workers
        .iter()
        .map(|app| Keys {
            own: seed_org(app, org, 2048),
            stranger: PrivateKey::generate(2048).expect("RSA key"),
        })
        .collect();
    // Each warm request is 2 ms newer than the last; start far enough back that the
    // last one is still inside the 300 s window.
    let base = now_ms() - 200_000;
    for (app, keys) in workers.iter().zip(&keys) {
        prime(app, keys, org, base);
    }
    let mut cells: Vec<Vec<Cell>> = vec![vec![Cell::default(); STAGES.len()]; 2];
    let mut unexpected = 0;
    // Blocks of BLOCK requests of one kind (so that the server's CPU time can be
    // charged to that kind), kinds and workers taking turns block by block.
    for round in 0..ROUNDS / BLOCK {
        for (w, app) in workers.iter().enumerate() {
            let bodies: Vec<[Value; 7]> = (0..BLOCK)
                .map(|k| bodies(&keys[w], org, round * BLOCK + k, base))
                .collect();
            // Accepted before their replays; warm accepted before the older ones.
            for stage in [4, 0, 1, 2, 3, 6, 5] {
                let cpu_before = group_cpu_ns(app.process_group(), Some("workerd"));
                let mut ms = Vec::with_capacity(BLOCK);
                for b in &bodies {
                    ms.push(time(app, &b[stage], STAGES[stage].1, &mut unexpected));
                }
                let cpu =
                    group_cpu_ns(app.process_group(), Some("workerd")).saturating_sub(cpu_before);
                // Round 0 warms both isolates' code paths; it is not counted.
                if round > 0 {
                    cells[w][stage].ms.extend(ms);
                    cells[w][stage].cpu_ns += cpu;
                }
            }
        }
    }
    assert_eq!(unexpected, 0, "every stage answers as designed");
    let summary = |w: usize| -> (Vec<f64>, Vec<f64>) {
        cells[w]
            .iter()
            .map(|c| (p50(c.ms.clone()), c.cpu_ns as f64 / 1e6 / c.ms.len() as f64))
            .unzip()
    };
    let (r, r_cpu) = summary(0);
    let (j, j_cpu) = summary(1);
    print("p50 ms", &r, &j);
    println!();
    print("server CPU ms per request", &r_cpu, &j_cpu);
    println!(
        "\n{} requests of each kind per worker (after a first round that is not counted), in blocks of {BLOCK}, kinds and workers taking turns. \
         Server CPU: every thread of workerd (the worker with its local D1 and KV; wrangler's node proxy left out) over the block, per request. JS ÷ Rust above 1: Rust is faster.",
        ROUNDS - BLOCK
    );
}

fn print(what: &str, r: &[f64], j: &[f64]) {
    println!("| /register stops at ({what}) | Rust/wasm | stage | plain JS | stage | Rust − JS | JS ÷ Rust |");
    println!("|---|---|---|---|---|---|---|");
    for (s, (stage, _)) in STAGES.iter().enumerate() {
        // Each stage adds to the one before it in the same path; the warm path starts over.
        let before = |v: &[f64]| if s == 0 || s == 5 { 0.0 } else { v[s - 1] };
        println!(
            "| {stage} | {:.2} | {:+.2} | {:.2} | {:+.2} | {:+.2} | {:.2} |",
            r[s],
            r[s] - before(r),
            j[s],
            j[s] - before(j),
            r[s] - j[s],
            j[s] / r[s],
        );
    }
}
