//! Benchmark: the ceiling of one D1 database — thousands of distinct nodes
//! re-registering with jitter against the local stack (issue 25, item 5).
//!
//! Boots the worker (test hooks on, for the per-request counts) and for each setting of
//! `NODE_SEEN_RESOLUTION_SECONDS` — 0, every heartbeat written; the default, writes only
//! on change — restarts it over the same state and:
//!
//! 1. registers NODES new nodes across ORGS organizations (cold path, untimed);
//! 2. sends every node HEARTBEATS more heartbeats in a jittered order (each round a
//!    fresh random order and each timestamp a random few ms off the round's), from
//!    CONCURRENCY client threads in a closed loop: sustained heartbeats/s, p50/p99,
//!    answers other than 200, rows written per heartbeat (x-gatehouse-d1-rows-written);
//! 3. with every heartbeat written only, the D1 share of a heartbeat, from workerd's
//!    CPU time (inside workerd the clock only advances on I/O, so D1's own
//!    `meta.duration` is 0 locally): requests signed just before each node's last
//!    heartbeat (fresh nonce, cached key, the D1 batch decides "replay": no write, no
//!    KV put) minus the last round's heartbeats sent again (refused by the KV nonce
//!    before D1). What is left is the D1 round trip — the batch on the local SQLite
//!    plus the binding's plumbing — and one cached-key RSA verify (~0.1 ms): an upper
//!    bound of the primary's busy time for a heartbeat that writes nothing. What a
//!    written heartbeat adds (its row and its nonce's put) is the difference of the
//!    heartbeats' CPU between the two settings.
//!
//! D1 runs one query at a time per database, so busy time per heartbeat turns into
//! heartbeats/s per database (1000 / busy ms) and nodes per database at T = 300 s.
//! Client and workerd share the machine's cores: the throughput is this machine's, the
//! busy times are CPU times and so steadier than wall times under load.
//!
//!     cargo run -p gatehouse-e2e --bin bench_ceiling --release   (part of `make bench`)

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::bench::{cell, group_cpu_ns, quantile, Counts};
use gatehouse_e2e::nodes::{fields, now_ms, seed_org, signed};
use gatehouse_e2e::{spawn_app_with, TestApp};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

const NODES: usize = 1500;
const ORGS: usize = 15;
const HEARTBEATS: usize = 2;
const CONCURRENCY: usize = 12;
const INTERVAL_S: f64 = 300.0;
const DEFAULT_RESOLUTION_S: f64 = 600.0;

/// A small xorshift generator: jitter needs no more, and a fixed seed makes runs alike.
struct Jitter(u64);

impl Jitter {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below as u64) as usize
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.next(i + 1));
        }
    }
}

struct Phase {
    per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    not_ok: usize,
    cpu_ms: f64,
    counts: Counts,
}

/// Sends every body from CONCURRENCY threads, closed loop; 200 expected unless `expect`.
fn run(app: &TestApp, bodies: &[Value], expect: u16) -> Phase {
    let next = AtomicUsize::new(0);
    let seen = Mutex::new((Vec::with_capacity(bodies.len()), Vec::new(), 0usize));
    let cpu_before = group_cpu_ns(app.process_group(), Some("workerd"));
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..CONCURRENCY {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let sent = Instant::now();
                let res = app.post_json("/register", body);
                let ms = sent.elapsed().as_secs_f64() * 1000.0;
                let mut seen = seen.lock().expect("results");
                seen.0.push(ms);
                seen.1.push(Counts::of(&res));
                seen.2 += usize::from(res.status != expect);
            });
        }
    });
    let wall = started.elapsed().as_secs_f64();
    let cpu = group_cpu_ns(app.process_group(), Some("workerd")) - cpu_before;
    let (mut ms, counts, not_ok) = seen.into_inner().expect("results");
    Phase {
        per_s: bodies.len() as f64 / wall,
        p50_ms: quantile(&mut ms, 0.5),
        p99_ms: quantile(&mut ms, 0.99),
        not_ok,
        cpu_ms: cpu as f64 / 1e6 / bodies.len() as f64,
        counts: Counts::mean(&counts),
    }
}

struct Setting {
    resolution: &'static str,
    heartbeat: Phase,
    /// With every heartbeat written only (see `measure`): (older, replayed).
    controls: Option<(Phase, Phase)>,
}

fn node_ip(round: usize, n: usize) -> String {
    format!("10.{}.{}.{}", 100 + round, n / 250, n % 250 + 1)
}

fn measure(app: &TestApp, keys: &[PrivateKey], round: usize, resolution: &'static str) -> Setting {
    let mut jitter = Jitter(0x9E37_79B9_7F4A_7C15 ^ round as u64);
    let org = |n: usize| format!("org-ceiling-{}", n % ORGS);
    let body = |n: usize, at: i64| {
        signed(
            &keys[n % ORGS],
            &fields(&node_ip(round, n), at, Some(&org(n))),
        )
    };
    let t0 = now_ms() - 100_000;
    let first: Vec<Value> = (0..NODES).map(|n| body(n, t0)).collect();
    let primed = run(app, &first, 200);
    assert_eq!(primed.not_ok, 0, "every node registers");
    // Heartbeat k of node n at t0 + k s, give or take up to 400 ms, in a fresh random order.
    let mut beats = Vec::with_capacity(NODES * HEARTBEATS);
    let mut last = vec![t0; NODES];
    for k in 1..=HEARTBEATS {
        let mut order: Vec<usize> = (0..NODES).collect();
        jitter.shuffle(&mut order);
        for n in order {
            last[n] = t0 + k as i64 * 1000 + jitter.next(400) as i64;
            beats.push(body(n, last[n]));
        }
    }
    let heartbeat = run(app, &beats, 200);
    // Signed 1 ms before each node's last heartbeat: only D1 can tell it is old.
    let older: Vec<Value> = (0..NODES).map(|n| body(n, last[n] - 1)).collect();
    // Only where every heartbeat writes: with writes on change an unchanged heartbeat
    // keeps the last change's signed time and puts no nonce, so neither control would
    // be refused where it must be.
    let controls = (resolution == "0").then(|| {
        let d1_older = run(app, &older, 400);
        // The last round's heartbeats again: their nonces are in KV, refused before D1.
        let replayed = run(app, &beats[beats.len() - NODES..], 400);
        (d1_older, replayed)
    });
    Setting {
        resolution,
        heartbeat,
        controls,
    }
}

fn main() {
    let mut app = spawn_app_with(&[]);
    let keys: Vec<PrivateKey> = (0..ORGS)
        .map(|o| seed_org(&app, &format!("org-ceiling-{o}"), 2048))
        .collect();
    let mut settings = Vec::new();
    for (round, resolution) in ["0", "600"].into_iter().enumerate() {
        app.restart_with(&[("NODE_SEEN_RESOLUTION_SECONDS", resolution)]);
        settings.push(measure(&app, &keys, round, resolution));
    }
    print(&settings);
}

fn print(settings: &[Setting]) {
    println!("{NODES} nodes in {ORGS} organizations, {HEARTBEATS} heartbeats each in a jittered order, {CONCURRENCY} client threads (closed loop), after each node's first registration:\n");
    println!("| NODE_SEEN_RESOLUTION_SECONDS | heartbeats/s (this machine) | p50 ms | p99 ms | answers not 200 | rows written per heartbeat | D1 primary trips per heartbeat | workerd CPU ms per heartbeat |");
    println!("|---|---|---|---|---|---|---|---|");
    for s in settings {
        let h = &s.heartbeat;
        println!(
            "| {} | {:.0} | {:.1} | {:.1} | {} | {} | {} | {:.2} |",
            s.resolution,
            h.per_s,
            h.p50_ms,
            h.p99_ms,
            h.not_ok,
            cell(h.counts.rows_written, 2),
            cell(h.counts.d1_primary, 2),
            h.cpu_ms
        );
    }
    let [written, on_change] = [&settings[0], &settings[1]];
    // The D1 round trip of a heartbeat that writes nothing, and what a written one adds.
    let (older, replayed) = written.controls.as_ref().expect("controls with 0");
    let read_ms = (older.cpu_ms - replayed.cpu_ms).max(0.0);
    let write_ms = (written.heartbeat.cpu_ms - on_change.heartbeat.cpu_ms).max(0.0);
    let every = (DEFAULT_RESOLUTION_S / INTERVAL_S).ceil().max(1.0);
    println!(
        "\nD1's share of a heartbeat (workerd CPU, upper bound of the primary's busy time): the D1 round trip that writes nothing \
         {read_ms:.2} ms (requests D1 refuses as older, {:.2} ms, minus heartbeats replayed, refused by the KV nonce, {:.2} ms; \
         {} and {} answers not 400); a written heartbeat adds {write_ms:.2} ms, its row and its nonce's put (heartbeat CPU with 0 minus with the default).\n",
        older.cpu_ms, replayed.cpu_ms, older.not_ok, replayed.not_ok
    );
    println!("| heartbeats | primary busy ms per heartbeat | heartbeats/s per database | nodes per database at T = {INTERVAL_S:.0} s |");
    println!("|---|---|---|---|");
    for (name, busy) in [
        (
            "every heartbeat written (NODE_SEEN_RESOLUTION_SECONDS=0)",
            read_ms + write_ms,
        ),
        (
            "writes only on change (default 600 s: one heartbeat in ceil(600 / 300) writes)",
            read_ms + write_ms / every,
        ),
    ] {
        let per_s = 1000.0 / busy;
        println!(
            "| {name} | {busy:.2} | {per_s:.0} | {:.0} |",
            per_s * INTERVAL_S
        );
    }
}
