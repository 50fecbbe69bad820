//! Native side of `make bench`: times the shared work (src/lib.rs) and prints one JSON
//! object per measurement on stdout, for bench/report.mjs to tabulate.
//!
//!     cargo run -p gatehouse-bench --release                      (hardware SHA if the CPU has it)
//!     cargo run -p gatehouse-bench --release --features soft-sha  (software SHA)

use gatehouse_bench::{
    kdf_crate, kdf_ours, register_body, register_pipeline, rsa_crate_parse, rsa_crate_verify,
    rsa_parse, rsa_verify,
};
use std::hint::black_box;
use std::time::Instant;

const KDF_ITERATIONS: u32 = 100_000;
const RUNS: usize = 7;

/// Median wall time of `RUNS` runs of `work`, in milliseconds.
fn median_ms(mut work: impl FnMut()) -> f64 {
    work(); // warm up
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[RUNS / 2]
}

fn main() {
    let sha = if cfg!(feature = "soft-sha") {
        "software"
    } else {
        "hardware"
    };
    let platform = format!("native ({sha} SHA)");
    for (hash, sha512) in [("SHA-512", true), ("SHA-256", false)] {
        for (implementation, kdf) in [
            ("ours", kdf_ours as fn(bool, u32) -> u8),
            ("pbkdf2 crate", kdf_crate),
        ] {
            let ms = median_ms(|| {
                black_box(kdf(black_box(sha512), KDF_ITERATIONS));
            });
            println!(
                r#"{{"bench":"kdf","platform":"{platform}","implementation":"{implementation}","hash":"{hash}","us_per_iteration":{:.4}}}"#,
                ms * 1000.0 / f64::from(KDF_ITERATIONS)
            );
        }
    }
    if !cfg!(feature = "soft-sha") {
        rsa_row("ours", rsa_parse, rsa_verify);
        rsa_row("rsa crate", rsa_crate_parse, rsa_crate_verify);
        let (key, body) = (rsa_parse(), register_body());
        let pipeline_ms = median_ms(|| {
            assert_eq!(register_pipeline(&key, &body, 200), 200);
        }) / 200.0;
        println!(
            r#"{{"bench":"pipeline","platform":"native","allocator":"system","ms":{pipeline_ms:.4}}}"#
        );
    }
}

/// One RSA row: ms per verify with an already parsed key, and ms per parse.
fn rsa_row<K>(implementation: &str, parse: fn() -> K, verify: fn(&K, u32) -> u32) {
    let key = parse();
    let verify_ms = median_ms(|| {
        black_box(verify(&key, 200));
    }) / 200.0;
    let parse_ms = median_ms(|| {
        for _ in 0..200 {
            black_box(parse());
        }
    }) / 200.0;
    println!(
        r#"{{"bench":"rsa","platform":"native","implementation":"{implementation}","verify_ms":{verify_ms:.4},"parse_ms":{parse_ms:.4}}}"#
    );
}
