//! Benchmark tool: `/register`'s stages counted in instructions, not seconds. Every
//! workerd of each worker runs under valgrind's callgrind (miniflare starts
//! `MINIFLARE_WORKERD_PATH` instead of workerd: a wrapper written here), and each stage's
//! requests are counted in machine instructions per request. A count does not move
//! with whatever else the machine does, where CPU time drifts between runs by more than
//! the Rust worker's gap to the anchor (docs/rust-vs-js.md, "What was found and done");
//! what still moves it is the collector's and the JIT's timing (the same build's floor
//! request counted 4.2–4.5 million in three runs), and callgrind's dump says in which
//! functions the work is (`callgrind_annotate`). Instructions are not time (cache
//! misses, stalls and the code's speed are not in them, and a stage's counts and its
//! time have been far apart): a count says where work is, `bench_ab` what it costs.
//!
//!     cargo run -p gatehouse-e2e --bin bench_instr --release -- rust js [copy/wrangler.toml]...
//!     (N=20 requests per stage, WARM_N=300 of every kind first — WARM_KINDS=stage: of
//!     the counted stages only —, STAGES=0,1,2,3,4,5,6; DUMPS=dir keeps the dumps;
//!     CACHE_SIM=on also counts cache misses, L1 and last level, as callgrind's model
//!     of this CPU's caches sees them; ~1 minute per 100 requests under valgrind;
//!     a worker named `<worker>+no-inspector` runs without the DevTools inspector)

use gatehouse_e2e::bench::{env_count, group_pids};
use gatehouse_e2e::project_root;
use gatehouse_e2e::stages::{needs_first, worker_named, Subject, SETTLE, STAGES};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The process name valgrind's callgrind runs under (it replaces workerd's).
const CALLGRIND: &str = "callgrind-amd64";

/// Writes the wrapper miniflare starts instead of workerd: workerd under callgrind,
/// not counting until told (`callgrind_control -i on`), its dumps in `dumps`.
fn install_wrapper(dumps: &Path, cache_sim: bool) -> PathBuf {
    let workerd = project_root().join("node_modules/@cloudflare/workerd-linux-64/bin/workerd");
    assert!(
        workerd.exists(),
        "{} missing: run `make setup` first",
        workerd.display()
    );
    let script = dumps.join("workerd-under-callgrind.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexec valgrind --tool=callgrind --smc-check=all --instr-atstart=no \
             --cache-sim={cache} --vgdb-prefix={dir}/vgdb --callgrind-out-file={dir}/cg.%p \
             {workerd} \"$@\" 2>>{dir}/valgrind.log\n",
            dir = dumps.display(),
            workerd = workerd.display(),
            cache = if cache_sim { "yes" } else { "no" },
        ),
    )
    .expect("write the wrapper");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .expect("make the wrapper executable");
    script
}

/// Tells the callgrind runs `pids` to do `args`. The harness gives each worker its own
/// `TMPDIR`, where valgrind would put the pipes callgrind_control talks through, so
/// the wrapper puts them in `dumps` instead (`--vgdb-prefix`).
fn callgrind_control(dumps: &Path, args: &[&str], pids: &[i32]) {
    let out = Command::new("callgrind_control")
        .arg(format!("--vgdb-prefix={}/vgdb", dumps.display()))
        .args(args)
        .args(pids.iter().map(i32::to_string))
        .output()
        .expect("callgrind_control (Debian's valgrind package)");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !said.contains("Error"),
        "callgrind_control {args:?} {pids:?}: {said}"
    );
}

/// What `pid` counted since its last zero or dump: dumps now and reads the dump's
/// `events:` and `totals:` lines (the newest `cg.<pid>.<n>`).
fn dumped_events(dumps: &Path, pid: i32) -> Events {
    let prefix = format!("cg.{pid}.");
    let newest = std::fs::read_dir(dumps)
        .expect("dumps")
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n: u32 = name.strip_prefix(&prefix)?.parse().ok()?;
            Some((n, e.path()))
        })
        .max()
        .map(|(_, path)| path)
        .expect("a callgrind dump");
    let text = std::fs::read_to_string(newest).expect("read the dump");
    let line = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .expect("a callgrind dump header")
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let (names, totals) = (line("events: "), line("totals: "));
    let event = |wanted: &[&str]| -> u64 {
        names
            .iter()
            .zip(&totals)
            .filter(|(name, _)| wanted.contains(&name.as_str()))
            .map(|(_, n)| n.parse::<u64>().unwrap_or(0))
            .sum()
    };
    Events {
        instructions: event(&["Ir"]),
        l1_misses: event(&["I1mr", "D1mr", "D1mw"]),
        ll_misses: event(&["ILmr", "DLmr", "DLmw"]),
    }
}

/// Per process or summed: instructions, and with CACHE_SIM=on the misses of the
/// simulated first-level (instruction and data) and last-level caches.
#[derive(Clone, Copy, Default)]
struct Events {
    instructions: u64,
    l1_misses: u64,
    ll_misses: u64,
}

impl Events {
    fn add(&mut self, other: Events) {
        self.instructions += other.instructions;
        self.l1_misses += other.l1_misses;
        self.ll_misses += other.ll_misses;
    }

    /// Per request, less `idle` (counted over as long with no request).
    fn per_request(self, idle: Events, n: usize) -> [f64; 3] {
        let per = |c: u64, i: u64| c.saturating_sub(i) as f64 / n as f64;
        [
            per(self.instructions, idle.instructions),
            per(self.l1_misses, idle.l1_misses),
            per(self.ll_misses, idle.ll_misses),
        ]
    }
}

/// The worker's own workerd (it has the inspector wrangler attaches) and every
/// workerd of the worker (wrangler's proxy in front of it too).
struct Counts {
    worker: Events,
    all: Events,
}

fn count(subject: &Subject, dumps: &Path, during: impl FnOnce()) -> Counts {
    let pids = group_pids(subject.app.process_group(), Some(CALLGRIND));
    assert!(!pids.is_empty(), "no workerd under callgrind in the group");
    callgrind_control(dumps, &["-z"], &pids);
    during();
    // The work after the answers (the KV put in waitUntil) is the window's own.
    std::thread::sleep(SETTLE * 5);
    callgrind_control(dumps, &["-d"], &pids);
    let mut counts = Counts {
        worker: Events::default(),
        all: Events::default(),
    };
    for &pid in &pids {
        let events = dumped_events(dumps, pid);
        counts.all.add(events);
        let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if cmdline.contains("--inspector-addr") {
            counts.worker.add(events);
        }
    }
    counts
}

fn main() {
    let workers: Vec<String> = std::env::args().skip(1).collect();
    assert!(
        !workers.is_empty(),
        "usage: bench_instr <rust|js|path/to/wrangler.toml>[+no-inspector]..."
    );
    let (n, warm) = (env_count("N", 20), env_count("WARM_N", 300));
    let stages: Vec<usize> = std::env::var("STAGES")
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|_| (0..STAGES.len()).collect());
    assert!(
        !stages.is_empty() && stages.iter().all(|&s| s < STAGES.len()),
        "STAGES: indexes of the stages, 0 to {}",
        STAGES.len() - 1
    );
    // The counted stages and what they need sent first: for a copy cut short to answer
    // early, which cannot register the nodes the other kinds need.
    let warm_kinds: Vec<usize> = match std::env::var("WARM_KINDS").as_deref() {
        Ok("stage") => {
            let mut kinds: Vec<usize> = stages
                .iter()
                .flat_map(|&s| needs_first(s).iter().copied().chain([s]))
                .collect();
            kinds.sort_unstable();
            kinds.dedup();
            kinds
        }
        _ => (0..STAGES.len()).collect(),
    };
    let cache_sim = std::env::var("CACHE_SIM").as_deref() == Ok("on");
    let dumps = match std::env::var("DUMPS") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => std::env::temp_dir().join(format!("bench-instr-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dumps).expect("dumps dir");
    // Set before any worker starts: every wrangler (and its miniflare) inherits it.
    std::env::set_var("MINIFLARE_WORKERD_PATH", install_wrapper(&dumps, cache_sim));

    // rows[stage][worker] = (worker's workerd, every workerd), per request, less idle.
    let mut rows = vec![Vec::new(); STAGES.len()];
    let mut unexpected = 0;
    let mut next = 0;
    for name in &workers {
        let subject = worker_named(name);
        eprintln!("{name}: warming up ({warm} of each kind {warm_kinds:?}, not counted)");
        for _ in 0..warm {
            let bodies = subject.bodies(next);
            next += 1;
            for &kind in &warm_kinds {
                subject.app.post_json("/register", &bodies[kind]);
            }
        }
        let pids = group_pids(subject.app.process_group(), Some(CALLGRIND));
        callgrind_control(&dumps, &["-i", "on"], &pids);
        let idle = count(&subject, &dumps, || {});
        for &stage in &stages {
            let bodies: Vec<_> = (next..next + n).map(|i| subject.bodies(i)).collect();
            next += n;
            for &first in needs_first(stage) {
                for b in &bodies {
                    subject.app.post_json("/register", &b[first]);
                }
            }
            let counts = count(&subject, &dumps, || {
                for b in &bodies {
                    let res = subject.app.post_json("/register", &b[stage]);
                    if res.status != STAGES[stage].1 {
                        if unexpected == 0 {
                            eprintln!("unexpected {}: {}", res.status, res.body);
                        }
                        unexpected += 1;
                    }
                }
            });
            rows[stage].push((
                counts.worker.per_request(idle.worker, n),
                counts.all.per_request(idle.all, n),
            ));
            eprintln!("{name}: stage {stage} counted");
        }
    }

    let tables: &[(usize, &str)] = if cache_sim {
        &[
            (0, "Instructions"),
            (1, "First-level cache misses (instruction and data)"),
            (2, "Last-level cache misses"),
        ]
    } else {
        &[(0, "Instructions")]
    };
    for &(event, what) in tables {
        println!(
            "\n{what} per request (thousands), the worker's workerd (and every workerd: \
             wrangler's proxy too), less idle:\n"
        );
        let head: Vec<String> = workers
            .iter()
            .map(|w| format!("{w} | − {}", workers[0]))
            .collect();
        println!("| /register stops at | {} |", head.join(" | "));
        println!("|---|{}", "---|---|".repeat(workers.len()));
        for &stage in &stages {
            let row = &rows[stage];
            let (first_worker, first_all) = (row[0].0[event], row[0].1[event]);
            let cells: Vec<String> = row
                .iter()
                .map(|(worker, all)| {
                    format!(
                        "{:.1} ({:.1}) | {:+.1} ({:+.1})",
                        worker[event] / 1e3,
                        all[event] / 1e3,
                        (worker[event] - first_worker) / 1e3,
                        (all[event] - first_all) / 1e3
                    )
                })
                .collect();
            println!("| {} | {} |", STAGES[stage].0, cells.join(" | "));
        }
    }
    println!(
        "\n{n} requests per stage after {warm} of each kind {warm_kinds:?}; dumps in {} \
         (callgrind_annotate).",
        dumps.display()
    );
    if unexpected > 0 {
        eprintln!("{unexpected} unexpected answers: the counts are not of the stages named");
        std::process::exit(1);
    }
}
