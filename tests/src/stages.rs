//! The requests of `bench_stages`, `bench_ab` and `bench_profile`: `POST /register`
//! bodies that stop at successive stages of the same path, for the Rust worker and the
//! plain-JS anchor (bench/js-worker) alike; and the measured window the first two share.

use crate::bench::group_cpu_ns;
use crate::nodes::{fields, now_ms, seed_org, signed};
use crate::{project_root, spawn_app_with, spawn_worker, spawn_worker_with, TestApp};
use gatehouse_core::crypto::rsa_keys::PrivateKey;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// Like the JS anchor's SQL: every accepted heartbeat writes its row (writes only on
/// change would spare the Rust worker the write that the anchor makes).
const WRITE_EVERY_HEARTBEAT: (&str, &str) = ("NODE_SEEN_RESOLUTION_SECONDS", "0");

/// The requests of one round, in path order, with the status each must get.
pub const STAGES: [(&str, u16); 7] = [
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

/// What a kind of [`STAGES`] needs sent first, in the same round: a replay its
/// original, a warm request its node, the older warm request the newer one.
pub fn needs_first(stage: usize) -> &'static [usize] {
    match stage {
        1 | 6 => &[4],
        5 => &[4, 6],
        _ => &[],
    }
}

const ORG: &str = "org-stages";

/// One worker with an organization seeded.
pub struct Subject {
    pub app: TestApp,
    own: PrivateKey,
    stranger: PrivateKey,
}

/// The Rust worker, configured to write every heartbeat as the anchor does.
pub fn rust_worker() -> Subject {
    subject(spawn_app_with(&[
        ("TEST_HOOKS", "off"),
        WRITE_EVERY_HEARTBEAT,
    ]))
}

/// The plain-JS anchor.
pub fn js_worker() -> Subject {
    subject(spawn_worker(
        &project_root().join("bench/js-worker/wrangler.toml"),
    ))
}

/// Another build of the Rust worker (a copy's wrangler.toml, as `bench_ab` compares),
/// configured as [`rust_worker`].
pub fn worker_from_config(config: &Path) -> Subject {
    subject(spawn_worker_with(
        config,
        &[("TEST_HOOKS", "off"), WRITE_EVERY_HEARTBEAT],
    ))
}

/// A worker named as the benchmark tools take it: `rust` (this build), `js` (the
/// plain-JS anchor) or the path of a wrangler.toml beside a copy of a built worker;
/// any of them with `+no-inspector` is started without the DevTools inspector
/// ([`crate::inspector_off`]), so one run can pair both modes.
pub fn worker_named(name: &str) -> Subject {
    if let Some(name) = name.strip_suffix("+no-inspector") {
        return crate::without_inspector(|| worker_named(name));
    }
    match name {
        "rust" => rust_worker(),
        "js" => js_worker(),
        config => worker_from_config(Path::new(config)),
    }
}

fn subject(app: TestApp) -> Subject {
    let own = seed_org(&app, ORG, 2048);
    let stranger = PrivateKey::generate(2048).expect("RSA key");
    Subject { app, own, stranger }
}

impl Subject {
    /// The bodies of round `i` (one per entry of [`STAGES`]). The warm ones re-register
    /// the node that this round's accepted new node registered (sent before them, so
    /// this isolate knows it): one signed just after it, then one just before it.
    pub fn bodies(&self, i: usize) -> [Value; 7] {
        let now = now_ms();
        let ip = |stage: usize| format!("10.{}.{}.{}", 200 + stage, i / 250, i % 250 + 1);
        let accepted = signed(&self.own, &fields(&ip(4), now, Some(ORG)));
        [
            signed(&self.own, &fields(&ip(0), now - 3_600_000, Some(ORG))),
            accepted.clone(),
            signed(&self.own, &fields(&ip(2), now, Some("org-nobody"))),
            signed(&self.stranger, &fields(&ip(3), now, Some(ORG))),
            accepted,
            signed(&self.own, &fields(&ip(4), now - 1, Some(ORG))),
            signed(&self.own, &fields(&ip(4), now + 1, Some(ORG))),
        ]
    }
}

/// Requests of each kind sent to each worker before measuring: V8 compiles hot code,
/// the wasm's in particular, on background threads (which the CPU here includes) over
/// the first few hundred requests of a path — ~1.7 ms of CPU per request at first,
/// under 0.05 ms after ~600. An isolate on the edge serves far more than that; these
/// tables are the steady state.
pub const WARMUP: usize = 300;
/// How long a window waits before and after its requests: its idle CPU is measured
/// over as long, and the work after its answers (the KV put in `waitUntil`) is its own.
pub const SETTLE: Duration = Duration::from_millis(200);

/// One window of `n` requests of `stage`: their latencies, and workerd's CPU per
/// request less its idle CPU (answers other than the stage's counted in `unexpected`).
pub fn window(
    subject: &Subject,
    stage: usize,
    from: usize,
    n: usize,
    unexpected: &mut usize,
) -> Window {
    let app = &subject.app;
    let bodies: Vec<_> = (from..from + n).map(|i| subject.bodies(i)).collect();
    for &first in needs_first(stage) {
        for b in &bodies {
            let res = app.post_json("/register", &b[first]);
            assert_eq!(res.status, STAGES[first].1, "{}", res.body);
        }
    }
    let group = app.process_group();
    let cpu = || group_cpu_ns(group, Some("workerd"));
    std::thread::sleep(SETTLE);
    let idle_from = cpu();
    std::thread::sleep(SETTLE);
    let idle = cpu() - idle_from;
    let before = cpu();
    let mut ms = Vec::with_capacity(n);
    for b in &bodies {
        let sent = Instant::now();
        let res = app.post_json("/register", &b[stage]);
        ms.push(sent.elapsed().as_secs_f64() * 1000.0);
        if res.status != STAGES[stage].1 {
            if *unexpected == 0 {
                eprintln!(
                    "unexpected {} (wanted {}): {}",
                    res.status, STAGES[stage].1, res.body
                );
            }
            *unexpected += 1;
        }
    }
    std::thread::sleep(SETTLE);
    let busy = (cpu() - before).saturating_sub(idle);
    Window {
        ms,
        cpu_ms_per_request: busy as f64 / 1e6 / n as f64,
    }
}

pub struct Window {
    pub ms: Vec<f64>,
    pub cpu_ms_per_request: f64,
}
