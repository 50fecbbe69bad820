//! Benchmark tool: one `/register` stage on two or more workers, measured as
//! `bench_stages` measures (tests/src/stages.rs, `window`), with the difference of each
//! worker from the first given with its standard error — for a change too small to
//! see across runs (docs/rust-vs-js.md, "What was found and done": this machine drifts
//! by more between runs than such a change moves).
//!
//! Workers: `rust` (this build), `js` (the plain-JS anchor), or the path of a
//! wrangler.toml beside a copy of a built worker (its `main` and `build/`), e.g. this
//! build with one change; any of them with `+no-inspector` started without the
//! DevTools inspector `wrangler dev` attaches (as production runs; `WORKER_INSPECTOR=off`
//! starts every worker so). Each gets WARM_N requests of every kind first (the ageing the
//! gap comes from), then WINDOWS rounds of one WINDOW-request window each, the order
//! rotating every round; each window is paired with the first worker's window of the
//! same round.
//!
//!     cargo run -p gatehouse-e2e --bin bench_ab --release -- 0 rust js /tmp/variant/wrangler.toml
//!     (stage: an index of STAGES, 0 = refused before any storage; WINDOWS=24 WINDOW=100
//!     WARM_N=200; WARM_KINDS=stage warms with the measured stage only)

use gatehouse_e2e::bench::{env_count, quantile, stderr};
use gatehouse_e2e::stages::{window, worker_named, Subject, STAGES};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        "usage: bench_ab <stage 0-6> <rust|js|path/to/wrangler.toml>[+no-inspector] <worker>...";
    let stage: usize = match args.first().and_then(|s| s.parse().ok()) {
        Some(stage) if stage < STAGES.len() && args.len() >= 3 => stage,
        _ => panic!("{usage}"),
    };
    let (windows, size, warm) = (
        env_count("WINDOWS", 24),
        env_count("WINDOW", 100),
        env_count("WARM_N", 200),
    );
    let workers: Vec<(&str, Subject)> = args[1..]
        .iter()
        .map(|name| (name.as_str(), worker_named(name)))
        .collect();
    // WARM_KINDS=stage warms with the measured stage only: for a copy cut short to
    // answer early, which cannot register the nodes the other kinds need.
    let warm_kinds: Vec<usize> = match std::env::var("WARM_KINDS").as_deref() {
        Ok("stage") => vec![stage],
        _ => (0..STAGES.len()).collect(),
    };
    let mut unexpected = 0;
    let mut next = 0;
    for (_, subject) in &workers {
        for &kind in &warm_kinds {
            window(subject, kind, next, warm, &mut unexpected);
            next += warm;
        }
    }
    // [worker][round] -> the window's CPU ms per request; [worker] -> every latency.
    let mut cpu = vec![Vec::with_capacity(windows); workers.len()];
    let mut ms = vec![Vec::new(); workers.len()];
    for round in 0..windows {
        for turn in 0..workers.len() {
            let k = (turn + round) % workers.len();
            let result = window(&workers[k].1, stage, next, size, &mut unexpected);
            next += size;
            cpu[k].push(result.cpu_ms_per_request);
            ms[k].extend(result.ms);
        }
    }
    assert_eq!(
        unexpected, 0,
        "every request answers as its stage is designed to"
    );
    println!("stage: {}", STAGES[stage].0);
    println!(
        "| worker | server CPU ms per request | p50 ms | − {} (CPU) |",
        workers[0].0
    );
    println!("|---|---|---|---|");
    for (k, (name, _)) in workers.iter().enumerate() {
        let mean = cpu[k].iter().sum::<f64>() / windows as f64;
        let gap = if k == 0 {
            "".to_owned()
        } else {
            let gaps: Vec<f64> = cpu[k].iter().zip(&cpu[0]).map(|(a, b)| a - b).collect();
            let gap = gaps.iter().sum::<f64>() / windows as f64;
            format!("{gap:+.2} ± {:.2}", stderr(&gaps))
        };
        println!(
            "| {name} | {mean:.2} | {:.2} | {gap} |",
            quantile(&mut ms[k], 0.5)
        );
    }
    let warmed = match warm_kinds.len() {
        1 => "of this stage",
        _ => "of every kind",
    };
    println!(
        "\n{windows} windows of {size} per worker after {warm} {warmed}; ± is the standard error \
         of the per-round difference."
    );
}

#[cfg(test)]
mod tests {
    use gatehouse_e2e::bench::stderr;

    #[test]
    fn the_standard_error_is_the_sample_deviation_over_root_n() {
        // mean 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5 over n − 1 = 3.
        let expected = (5.0_f64 / 3.0 / 4.0).sqrt();
        assert!((stderr(&[1.0, 2.0, 3.0, 4.0]) - expected).abs() < 1e-12);
        assert!(stderr(&[0.7, 0.7, 0.7]) < 1e-12);
    }
}
