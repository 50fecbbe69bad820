//! Benchmark: where `POST /register`'s time goes, in the Rust worker and in the
//! plain-JS anchor (bench/js-worker), for a new node and for a warm re-registration.
//!
//! Neither worker is instrumented (inside workerd the clock only advances on I/O, so a
//! worker cannot time its own CPU stages): instead, requests that stop at successive
//! stages of the same path — refused before any storage, refused by the KV nonce,
//! refused after the D1 read with no key to try, refused by the RSA check, accepted;
//! and for a node this isolate knows, one D1 refuses as older, then an accepted one.
//! Each kind is sent in windows of WINDOW requests, the two workers taking turns
//! window by window (which one goes first alternates), after a warm-up. A window's
//! CPU is workerd's (every thread of its processes: the worker with its local D1 and
//! KV; wrangler's node proxy left out, bench::group_cpu_ns) from just before its first
//! request until SETTLE after its last answer, so that work after the answers (the KV
//! put in `waitUntil`) is its own, minus what the same processes spend idle over as
//! long. Requests a kind needs first (a replay's original, a warm request's node) are
//! sent before the window, outside it. The step from one stage to the next is what
//! that stage costs; read the ratios, not the absolute numbers.
//!
//!     cargo run -p gatehouse-e2e --bin bench_stages --release   (part of `make bench`)

use gatehouse_e2e::bench::{quantile, stderr};
use gatehouse_e2e::stages::{js_worker, rust_worker, window, SETTLE, STAGES, WARMUP};

const WINDOW: usize = 100;
const WINDOWS: usize = 10;
fn main() {
    let workers = [rust_worker(), js_worker()];
    let mut unexpected = 0;
    let mut next = 0;
    for subject in &workers {
        for stage in 0..STAGES.len() {
            window(subject, stage, next, WARMUP, &mut unexpected);
            next += WARMUP;
        }
    }
    // [worker][stage] -> (p50 ms, mean CPU ms per request over its windows)
    let mut p50 = [[0.0; STAGES.len()]; 2];
    let mut cpu = [[0.0; STAGES.len()]; 2];
    // Per stage: the standard error of the mean of Rust − JS over the windows, each
    // window paired with the other worker's turn next to it (the machine drifts by more
    // than the gap between runs; within a pair it drifts little).
    let mut cpu_stderr = [0.0; STAGES.len()];
    for stage in 0..STAGES.len() {
        let mut ms: [Vec<f64>; 2] = Default::default();
        let mut cpus: [Vec<f64>; 2] = Default::default();
        for w in 0..WINDOWS {
            let order = if w % 2 == 0 { [0, 1] } else { [1, 0] };
            for k in order {
                let result = window(&workers[k], stage, next, WINDOW, &mut unexpected);
                next += WINDOW;
                ms[k].extend(result.ms);
                cpus[k].push(result.cpu_ms_per_request);
            }
        }
        for k in 0..2 {
            p50[k][stage] = quantile(&mut ms[k], 0.5);
            cpu[k][stage] = cpus[k].iter().sum::<f64>() / cpus[k].len() as f64;
        }
        let gaps: Vec<f64> = cpus[0].iter().zip(&cpus[1]).map(|(r, j)| r - j).collect();
        cpu_stderr[stage] = stderr(&gaps);
    }
    assert_eq!(unexpected, 0, "every stage answers as designed");
    print("p50 ms", &p50[0], &p50[1], None);
    println!();
    print(
        "server CPU ms per request",
        &cpu[0],
        &cpu[1],
        Some(&cpu_stderr),
    );
    println!(
        "\n{} requests of each kind per worker in windows of {WINDOW}, the workers taking turns, after {WARMUP} of each \
         kind not counted (warm-up: V8 compiles the hot code, the wasm's in particular, on background threads). Server \
         CPU: every thread of workerd (the worker with its local D1 and KV; wrangler's node proxy left out) from the \
         window's first request to {} ms after its last answer, less the same processes' idle CPU over as long, per \
         request, averaged over the windows; ± is the standard error of Rust − JS over the windows, each paired with \
         the other worker's turn beside it. JS ÷ Rust above 1: Rust is faster.",
        WINDOWS * WINDOW,
        SETTLE.as_millis()
    );
}

fn print(what: &str, r: &[f64], j: &[f64], gap_stderr: Option<&[f64]>) {
    println!("| /register stops at ({what}) | Rust/wasm | stage | plain JS | stage | Rust − JS | JS ÷ Rust |");
    println!("|---|---|---|---|---|---|---|");
    for (s, (stage, _)) in STAGES.iter().enumerate() {
        // Each stage adds to the one before it in the same path; the warm path starts over.
        let before = |v: &[f64]| if s == 0 || s == 5 { 0.0 } else { v[s - 1] };
        let gap = match gap_stderr {
            Some(e) => format!("{:+.2} ± {:.2}", r[s] - j[s], e[s]),
            None => format!("{:+.2}", r[s] - j[s]),
        };
        println!(
            "| {stage} | {:.2} | {:+.2} | {:.2} | {:+.2} | {gap} | {:.2} |",
            r[s],
            r[s] - before(r),
            j[s],
            j[s] - before(j),
            j[s] / r[s],
        );
    }
}
