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

use gatehouse_e2e::bench::group_cpu_ns;
use gatehouse_e2e::stages::{js_worker, rust_worker, SEND_ORDER, STAGES};
use gatehouse_e2e::TestApp;
use serde_json::Value;
use std::time::Instant;

const BLOCK: usize = 10;
/// Rounds not counted: V8 tiers the wasm up (optimizing compiles on background threads,
/// which the CPU below includes) over the first few hundred requests of each path —
/// ~1.7 ms of CPU per request at first, under 0.05 ms after ~600 (tmp measurement with
/// per-thread schedstat). An isolate on the edge serves far more than that; this table
/// is the steady state.
const WARMUP_ROUNDS: usize = 30;
/// How long a block's CPU is still counted after its last answer (see main).
const SETTLE: std::time::Duration = std::time::Duration::from_millis(100);
const MEASURED_ROUNDS: usize = 12;

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
    let workers = [rust_worker(), js_worker()];
    let mut cells: Vec<Vec<Cell>> = vec![vec![Cell::default(); STAGES.len()]; 2];
    let mut unexpected = 0;
    // Blocks of BLOCK requests of one kind (so that the server's CPU time can be
    // charged to that kind), kinds and workers taking turns block by block.
    for round in 0..WARMUP_ROUNDS + MEASURED_ROUNDS {
        for (w, subject) in workers.iter().enumerate() {
            let app = &subject.app;
            let bodies: Vec<[Value; 7]> = (0..BLOCK)
                .map(|k| subject.bodies(round * BLOCK + k))
                .collect();
            for stage in SEND_ORDER {
                let cpu_before = group_cpu_ns(app.process_group(), Some("workerd"));
                let mut ms = Vec::with_capacity(BLOCK);
                for b in &bodies {
                    ms.push(time(app, &b[stage], STAGES[stage].1, &mut unexpected));
                }
                // Work after the answers (the KV nonce put in `waitUntil`, D1's and KV's
                // own) belongs to this block, not the next kind's.
                std::thread::sleep(SETTLE);
                let cpu =
                    group_cpu_ns(app.process_group(), Some("workerd")).saturating_sub(cpu_before);
                if round >= WARMUP_ROUNDS {
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
        "\n{} requests of each kind per worker after {} not counted (warm-up: V8 compiles the hot code, the wasm's in \
         particular, on background threads), in blocks of {BLOCK}, kinds and workers taking turns. Server CPU: every \
         thread of workerd (the worker with its local D1 and KV; wrangler's node proxy left out) over the block, per \
         request. JS ÷ Rust above 1: Rust is faster.",
        MEASURED_ROUNDS * BLOCK,
        WARMUP_ROUNDS * BLOCK
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
