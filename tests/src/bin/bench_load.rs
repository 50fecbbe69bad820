//! Benchmark: per-route load against the local workerd, and the plain-JS anchor.
//!
//! Boots the built worker (production KDF settings, rate limits off) and, for each
//! route and concurrency, sends a fixed number of realistic requests from that many
//! client threads in a closed loop: every /register body is signed by a real key for
//! a new node with a fresh timestamp, every sign-up has a new email, every node-secret
//! a new node id. Then boots bench/js-worker (WebCrypto, same D1 schema and SQL) and
//! sends it the same /register load. Prints a markdown table of requests/s and
//! p50/p99 latency. Client and server share the machine's cores, so the numbers are
//! for comparing routes and implementations in one run, not capacity planning.
//!
//! Then where /register's time goes, in both workers, without instrumenting either
//! (the clock inside workerd only advances on I/O): requests that stop at successive
//! stages of the same path — refused before any storage, refused by the KV nonce,
//! refused by the signature check after the D1 read, accepted — and the p50 of each.
//! The step from one stage to the next is what that stage costs.
//!
//!     cargo run -p gatehouse-e2e --bin bench_load --release   (part of `make bench`)

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::accounts::{sign_up, signup_body};
use gatehouse_e2e::nodes::{fields, now_ms, seed_org, signed};
use gatehouse_e2e::{project_root, spawn_app_with, spawn_worker, TestApp};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

const CONCURRENCY: [usize; 3] = [1, 4, 16];

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

/// `n` first registrations of new nodes, signed now by `org`'s key.
fn register_bodies(app: &TestApp, org: &str, round: usize, n: usize) -> Vec<Value> {
    let key = seed_org(app, org, 2048);
    let now = now_ms();
    (0..n)
        .map(|i| {
            let ip = format!("10.{}.{}.{}", round, i / 250, i % 250 + 1);
            signed(&key, &fields(&ip, now, Some(org)))
        })
        .collect()
}

/// The stages of /register that [`stages`] stops requests at, in path order.
const STAGES: [(&str, u16); 4] = [
    ("stale timestamp: routing, body, JSON, field checks", 400),
    ("replayed: + KV nonce read", 400),
    ("signed by another key: + D1 read batch, RSA verify", 400),
    ("accepted: + D1 write batch, KV nonce write", 200),
];

/// p50 of `n` sequential requests stopping at each of [`STAGES`]. The stages take
/// turns (one request of each per node), so drift in the machine's load affects all
/// alike; a node's accepted registration is what its replay then resends.
fn stages(app: &TestApp, org: &str, n: usize) -> [f64; 4] {
    let key = seed_org(app, org, 2048);
    let stranger = PrivateKey::generate(2048).expect("RSA key");
    let mut latencies: [Vec<f64>; 4] = Default::default();
    let mut unexpected = 0;
    for i in 0..n {
        let now = now_ms();
        let ip = |stage: usize| format!("10.{}.{}.{}", 200 + stage, i / 250, i % 250 + 1);
        let accepted = signed(&key, &fields(&ip(3), now, Some(org)));
        let bodies = [
            signed(&key, &fields(&ip(0), now - 3_600_000, Some(org))),
            accepted.clone(),
            signed(&stranger, &fields(&ip(2), now, Some(org))),
            accepted,
        ];
        // Accepted first, so that its replay can follow.
        for stage in [3, 0, 1, 2] {
            let (_, expected) = STAGES[stage];
            let sent = Instant::now();
            let res = app.post_json("/register", &bodies[stage]);
            latencies[stage].push(sent.elapsed().as_secs_f64() * 1000.0);
            if res.status != expected {
                if unexpected == 0 {
                    eprintln!("stage {stage}: {} {}", res.status, res.body);
                }
                unexpected += 1;
            }
        }
    }
    assert_eq!(unexpected, 0, "every stage answers as designed");
    latencies.map(|mut l| {
        l.sort_by(f64::total_cmp);
        l[l.len() / 2]
    })
}

fn print_stages(rust: &[f64; 4], js: &[f64; 4]) {
    println!(
        "\n| /register stops at | Rust/wasm p50 ms | stage | plain JS p50 ms | stage | Rust − JS |"
    );
    println!("|---|---|---|---|---|---|");
    let mut previous = (0.0, 0.0);
    for (((stage, _), r), j) in STAGES.iter().zip(rust).zip(js) {
        println!(
            "| {stage} | {r:.2} | {:+.2} | {j:.2} | {:+.2} | {:+.2} |",
            r - previous.0,
            j - previous.1,
            r - j
        );
        previous = (*r, *j);
    }
}

fn main() {
    // `bench_load stages`: only the /register breakdown (a minute instead of three).
    let load = !std::env::args().any(|a| a == "stages");
    // Production settings: PBKDF2-SHA512 at 210 000 iterations for passwords and secrets.
    let app = spawn_app_with(&[("PASSWORD_KDF_ITERATIONS", "210000"), ("TEST_HOOKS", "off")]);
    let anchor = spawn_worker(&project_root().join("bench/js-worker/wrangler.toml"));
    // Warm both isolates before measuring anything.
    let warm = register_bodies(&app, "org-warm", 90, 1);
    run(&app, "/register", &warm, 200, 1);
    let warm = register_bodies(&anchor, "org-warm", 90, 1);
    run(&anchor, "/register", &warm, 200, 1);
    if load {
        rust_load(&app);
        measure(
            "plain JS + WebCrypto",
            &anchor,
            "/register",
            200,
            200,
            |round, n| register_bodies(&anchor, &format!("org-{round}"), round, n),
        );
        println!("\nClosed loop: each of `concurrency` client threads sends its next request when the previous one is answered.");
    }
    print_stages(
        &stages(&app, "org-stages", 100),
        &stages(&anchor, "org-stages", 100),
    );
}

fn rust_load(app: &TestApp) {
    println!("| worker | route | concurrency | requests | requests/s | p50 ms | p99 ms | unexpected answers |");
    println!("|---|---|---|---|---|---|---|---|");
    let password_user = "load@acme.io";
    sign_up(app, password_user);
    let login = json!({"email": password_user, "password": "Correct1horse"});
    app.post_json("/user/login", &login);

    let worker = "Rust/wasm";
    measure(worker, app, "/register", 200, 200, |round, n| {
        register_bodies(app, &format!("org-{round}"), round, n)
    });
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
        vec![login.clone(); n]
    });
}
