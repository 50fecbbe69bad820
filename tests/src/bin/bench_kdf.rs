//! Benchmark: the password KDF inside workerd, the way production runs it.
//!
//! For each setting, boots the built worker (`spawn_app_with`) and times first
//! registrations on `POST /register_node_secret`, each of which hashes exactly once.
//! A run at 1 000 iterations is the baseline (request floor: routing, D1 batch,
//! HTTP); the difference per iteration is the KDF's own cost. The same method times
//! workerd's own WebCrypto PBKDF2 through bench/js-worker (100 000 iterations, its
//! maximum, against 1). Prints a markdown table.
//!
//!     cargo run -p gatehouse-e2e --bin bench_kdf --release   (or `make bench`)

use gatehouse_e2e::{project_root, spawn_app_with, spawn_worker, TestApp};
use serde_json::json;
use std::time::Instant;

const SAMPLES: usize = 15;

fn median_ms(kdf: &str, iterations: u32) -> f64 {
    let app = spawn_app_with(&[
        ("PASSWORD_KDF", kdf),
        ("PASSWORD_KDF_ITERATIONS", &iterations.to_string()),
    ]);
    // Warm the isolate (compile, first D1 access) before measuring.
    app.post_json(
        "/register_node_secret",
        &json!({"node_id": "warm-up", "secret": "0123456789abcdef"}),
    );
    let mut times: Vec<f64> = (0..SAMPLES)
        .map(|i| {
            let body =
                json!({"node_id": format!("bench-{i}"), "secret": "0123456789abcdef-secret"});
            let started = Instant::now();
            let res = app.post_json("/register_node_secret", &body);
            assert_eq!(res.status, 200, "{}", res.body);
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[SAMPLES / 2]
}

/// Median latency of `GET path` on `app`, after one warm-up request.
fn median_get_ms(app: &TestApp, path: &str) -> f64 {
    app.get(path);
    let mut times: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let started = Instant::now();
            let res = app.get(path);
            assert_eq!(res.status, 200, "{}", res.body);
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[SAMPLES / 2]
}

fn main() {
    println!("| KDF (in workerd, wasm) | iterations | request, median ms | KDF only, ms | µs per iteration |");
    println!("|---|---|---|---|---|");
    for (kdf, iterations) in [("pbkdf2-sha512", 210_000u32), ("pbkdf2-sha256", 600_000)] {
        let floor = median_ms(kdf, 1_000);
        let full = median_ms(kdf, iterations);
        let kdf_ms = full - floor;
        let per_iteration_us = kdf_ms * 1000.0 / f64::from(iterations - 1_000);
        println!("| {kdf} | {iterations} | {full:.1} | {kdf_ms:.1} | {per_iteration_us:.3} |");
    }
    let anchor = spawn_worker(&project_root().join("bench/js-worker/wrangler.toml"));
    for hash in ["SHA-512", "SHA-256"] {
        let floor = median_get_ms(&anchor, &format!("/pbkdf2?hash={hash}&iterations=1"));
        let full = median_get_ms(&anchor, &format!("/pbkdf2?hash={hash}&iterations=100000"));
        let kdf_ms = full - floor;
        println!(
            "| WebCrypto PBKDF2-{hash} (in workerd) | 100000 | {full:.1} | {kdf_ms:.1} | {:.3} |",
            kdf_ms * 1000.0 / 99_999.0
        );
    }
    println!("\n{SAMPLES} samples per setting; KDF only = median at the setting − median at 1 000 iterations (WebCrypto: at 1).");
}
