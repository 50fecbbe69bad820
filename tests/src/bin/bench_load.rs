//! Benchmark: per-route load against the local workerd, and the plain-JS anchor.
//!
//! Boots the built worker (production KDF settings, rate limits off) and, for each
//! route and concurrency, sends a fixed number of realistic requests from that many
//! client threads in a closed loop: every /register body is signed by a real key for
//! a new node with a fresh timestamp, every sign-up has a new email, every node-secret
//! a new node id. Then boots bench/js-worker (WebCrypto, same D1 schema and SQL) and
//! sends it the same /register load (new nodes, then their warm re-registrations), the
//! two workers taking turns at each concurrency. Prints a markdown table of
//! requests/s and p50/p99 latency. Client and server share the machine's cores, so the
//! numbers are for comparing routes and implementations in one run, not capacity
//! planning. Where /register's time goes: bench_stages.
//!
//!     cargo run -p gatehouse-e2e --bin bench_load --release   (part of `make bench`)
//!     cargo run -p gatehouse-e2e --bin bench_load --release -- register   (/register rows only)

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::accounts::{sign_up, signup_body};
use gatehouse_e2e::nodes::{fields, now_ms, seed_org, signed};
use gatehouse_e2e::{project_root, spawn_app_with, spawn_worker, TestApp};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

const CONCURRENCY: [usize; 3] = [1, 4, 16];
/// New nodes, then as many re-registrations, sent to each worker before measuring.
const WARMUP: usize = 600;

struct Outcome {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    unexpected: usize,
}

/// Sends every body once, from `concurrency` threads, and times each request.
fn run(app: &TestApp, path: &str, bodies: &[Value], expected: u16, concurrency: usize) -> Outcome {
    let next = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::with_capacity(bodies.len()));
    let unexpected = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..concurrency {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let sent = Instant::now();
                let res = app.post_json(path, body);
                let ms = sent.elapsed().as_secs_f64() * 1000.0;
                if res.status != expected {
                    unexpected.fetch_add(1, Ordering::Relaxed);
                }
                latencies.lock().expect("latencies").push(ms);
            });
        }
    });
    let wall = started.elapsed().as_secs_f64();
    let mut latencies = latencies.into_inner().expect("latencies");
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Outcome {
        rps: bodies.len() as f64 / wall,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        unexpected: unexpected.into_inner(),
    }
}

/// One table row per concurrency: `n` fresh bodies from `bodies(round, n)` each time.
fn measure(
    worker: &str,
    app: &TestApp,
    path: &str,
    expected: u16,
    n: usize,
    bodies: impl Fn(usize, usize) -> Vec<Value>,
) {
    for (round, &concurrency) in CONCURRENCY.iter().enumerate() {
        let o = run(app, path, &bodies(round, n), expected, concurrency);
        println!(
            "| {worker} | POST {path} | {concurrency} | {n} | {:.0} | {:.1} | {:.1} | {} |",
            o.rps, o.p50_ms, o.p99_ms, o.unexpected
        );
    }
}

/// `n` registrations of nodes (round `round`) signed at `at` by `org`'s `key`.
fn node_bodies(key: &PrivateKey, org: &str, round: usize, n: usize, at: i64) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let ip = format!("10.{}.{}.{}", round, i / 250, i % 250 + 1);
            signed(key, &fields(&ip, at, Some(org)))
        })
        .collect()
}

/// /register in both workers: new nodes, then their re-registrations (a newer
/// timestamp, same fields: the warm path), the two workers taking turns at each
/// concurrency so that drift in the machine's load hits both alike.
fn register_rows(rust: &TestApp, js: &TestApp, n: usize) {
    for (round, &concurrency) in CONCURRENCY.iter().enumerate() {
        for (worker, app) in [("Rust/wasm", rust), ("plain JS + WebCrypto", js)] {
            let org = format!("org-{round}");
            let key = seed_org(app, &org, 2048);
            let now = now_ms();
            let new = node_bodies(&key, &org, round, n, now);
            let warm = node_bodies(&key, &org, round, n, now + 1);
            for (what, bodies) in [("new node", new), ("warm", warm)] {
                let o = run(app, "/register", &bodies, 200, concurrency);
                println!(
                    "| {worker} | POST /register ({what}) | {concurrency} | {n} | {:.0} | {:.1} | {:.1} | {} |",
                    o.rps, o.p50_ms, o.p99_ms, o.unexpected
                );
            }
        }
    }
}

fn main() {
    // Production settings: PBKDF2-SHA512 at 210 000 iterations for passwords and secrets.
    // Every accepted heartbeat writes its row, as the JS anchor's SQL does (writes only on
    // change would spare the Rust worker the write that the anchor makes).
    let app = spawn_app_with(&[
        ("PASSWORD_KDF_ITERATIONS", "210000"),
        ("TEST_HOOKS", "off"),
        ("NODE_SEEN_RESOLUTION_SECONDS", "0"),
    ]);
    let anchor = spawn_worker(&project_root().join("bench/js-worker/wrangler.toml"));
    // Warm both isolates before measuring anything: V8 compiles hot code, the wasm's
    // in particular, on background threads over the first few hundred requests of a
    // path (bench_stages' WARMUP_ROUNDS); an isolate on the edge serves far more.
    for app in [&app, &anchor] {
        let key = seed_org(app, "org-warm", 2048);
        let now = now_ms();
        run(
            app,
            "/register",
            &node_bodies(&key, "org-warm", 90, WARMUP, now),
            200,
            4,
        );
        run(
            app,
            "/register",
            &node_bodies(&key, "org-warm", 90, WARMUP, now + 1),
            200,
            4,
        );
    }
    println!("| worker | route | concurrency | requests | requests/s | p50 ms | p99 ms | unexpected answers |");
    println!("|---|---|---|---|---|---|---|---|");
    register_rows(&app, &anchor, 300);
    // `bench_load register`: only the /register rows (the Rust-versus-JS comparison).
    if std::env::args().nth(1).as_deref() != Some("register") {
        rust_load(&app);
    }
    println!("\nClosed loop: each of `concurrency` client threads sends its next request when the previous one is answered.");
}

fn rust_load(app: &TestApp) {
    // One account per client thread at the highest concurrency, taken in turn: a login
    // is counted as a failure until its password checks out (login_guard), so sixteen
    // logins of one account in flight from one network would be refused past the
    // network's ten, which is the guard, not the route's speed.
    let logins: Vec<Value> = (0..CONCURRENCY[CONCURRENCY.len() - 1])
        .map(|k| {
            let email = format!("load-{k}@acme.io");
            sign_up(app, &email);
            let login = json!({"email": email, "password": "Correct1horse"});
            app.post_json("/user/login", &login);
            login
        })
        .collect();

    let worker = "Rust/wasm";
    measure(worker, app, "/register_node_secret", 200, 60, |round, n| {
        (0..n)
            .map(|i| json!({"node_id": format!("node-{round}-{i}"), "secret": "0123456789abcdef-secret"}))
            .collect()
    });
    measure(worker, app, "/user/register", 201, 60, |round, n| {
        (0..n)
            .map(|i| signup_body(&format!("user-{round}-{i}@load{round}.io"), json!({})))
            .collect()
    });
    measure(worker, app, "/user/login", 200, 60, |_, n| {
        logins.iter().cycle().take(n).cloned().collect()
    });
}
