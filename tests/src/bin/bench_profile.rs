//! Profile: where a worker's CPU goes for one kind of `POST /register` (a stage of
//! `bench_stages`), as V8's sampling profiler inside workerd sees it — self time per
//! function, through the inspector that `wrangler dev` exposes (bench/profile.mjs).
//! The tool behind the breakdown in docs/rust-vs-js.md ("What was found and done").
//!
//!     cargo run -p gatehouse-e2e --bin bench_profile --release -- [rust|js] [stage] [requests]
//!
//! `stage` indexes `bench_stages`' table (0 = refused before any storage, 4 = new node
//! accepted, 6 = warm accepted); a `strip = false` build names the wasm functions.
//! `PROFILE_KIND=heap` profiles allocation instead (KiB per function),
//! `PROFILE_KIND=retained` what of it is still alive at the end, and
//! `PROFILE_INTERVAL_US` sets the CPU sampler's interval (bench/profile.mjs).

use gatehouse_e2e::stages::{js_worker, needs_first, rust_worker, STAGES};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map(String::as_str).unwrap_or("rust");
    let stage: usize = args.get(1).map_or(0, |s| s.parse().expect("stage 0..=6"));
    let requests: usize = args.get(2).map_or(600, |s| s.parse().expect("count"));
    assert!(stage < STAGES.len(), "stage 0..={}", STAGES.len() - 1);
    assert!(
        !gatehouse_e2e::inspector_off(),
        "the profiler attaches through the inspector: unset WORKER_INSPECTOR"
    );
    let subject = match which {
        "rust" => rust_worker(),
        "js" => js_worker(),
        other => panic!("rust or js, not {other}"),
    };
    // A kind's prerequisites are sent too, and profiled with it.
    let before = needs_first(stage);
    let send = |i: usize| {
        let bodies = subject.bodies(i);
        for &s in before {
            subject.app.post_json("/register", &bodies[s]);
        }
        let res = subject.app.post_json("/register", &bodies[stage]);
        assert_eq!(res.status, STAGES[stage].1, "{}", res.body);
    };
    send(0); // untimed: the first request compiles and caches what the rest reuse
    let mut profiler = Command::new("node")
        .arg(gatehouse_e2e::project_root().join("bench/profile.mjs"))
        .arg(
            subject
                .app
                .inspector_port
                .expect("started with an inspector")
                .to_string(),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node bench/profile.mjs");
    let mut out = BufReader::new(profiler.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("profiler started");
    assert_eq!(line.trim(), "ready", "profiler: {line}");
    for i in 1..=requests {
        send(i);
    }
    writeln!(profiler.stdin.take().expect("stdin")).expect("stop the profiler");
    let mut summary = String::new();
    std::io::Read::read_to_string(&mut out, &mut summary).expect("summary");
    assert!(profiler.wait().expect("node").success());
    println!(
        "{which} worker, {requests} × \"{}\"{}:\n\n{summary}",
        STAGES[stage].0,
        if before.is_empty() {
            String::new()
        } else {
            format!(" (each after {before:?})")
        }
    );
}
