//! Starting a worker's process: `wrangler dev` on free loopback ports over a state
//! directory (or, without the DevTools inspector, wrangler's API through
//! tests/start-worker.mjs), and the wrangler.toml copies that the fault tests (one
//! binding left out) and the /48 budgets' tests (one limit lowered) boot from. lib.rs's
//! [`crate::TestApp`] owns what this starts.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Stdio};

use crate::abort_cleanup;
use crate::setup::{free_port, node_in, project_root, wrangler_in};

/// `text` (a wrangler.toml) without the table holding `binding = "<binding>"` (or, a
/// rate limiter's, `name = "<binding>"`), its relative paths made absolute so the copy
/// works from anywhere. Only the top-level (local) configuration is kept: `[env.*]`
/// tables (production) never run here.
pub(crate) fn config_without_binding(text: &str, binding: &str, root: &Path) -> String {
    let mut tables = local_tables(text);
    let declaration = format!("binding = \"{binding}\"");
    let declares =
        |t: &String| t.lines().any(|l| l.trim() == declaration) || is_limiter(t, binding);
    let before = tables.len();
    tables.retain(|t| !declares(t));
    assert_eq!(tables.len() + 1, before, "one table declares {binding}");
    assembled(&tables, root)
}

/// `text` (a wrangler.toml) with the rate limiter `name` allowing `limit` a period
/// instead of its own figure, as [`config_without_binding`] makes a copy.
pub(crate) fn config_with_limit(text: &str, name: &str, limit: u32, root: &Path) -> String {
    let mut tables = local_tables(text);
    let limiter = tables
        .iter_mut()
        .find(|t| is_limiter(t, name))
        .unwrap_or_else(|| panic!("a [[ratelimits]] table declares {name}"));
    let simple = limiter
        .lines()
        .find(|l| l.starts_with("simple = { limit = "))
        .expect("a simple limit")
        .to_string();
    let period = simple.split_once(", period").expect("a period").1;
    *limiter = limiter.replace(
        &simple,
        &format!("simple = {{ limit = {limit}, period{period}"),
    );
    assembled(&tables, root)
}

/// Whether `table` is the `[[ratelimits]]` table of the limiter `name`.
fn is_limiter(table: &str, name: &str) -> bool {
    let declaration = format!("name = \"{name}\"");
    table.starts_with("[[ratelimits]]") && table.lines().any(|l| l.trim() == declaration)
}

/// The top-level tables of a wrangler.toml, the lines before the first one as the
/// first: `[env.*]` tables are left out.
fn local_tables(text: &str) -> Vec<String> {
    let mut tables: Vec<String> = Vec::new();
    let mut in_env = false;
    for line in text.lines() {
        if line.starts_with('[') {
            in_env = line.trim_start_matches('[').starts_with("env.");
        }
        if in_env {
            continue;
        }
        if line.starts_with('[') || tables.is_empty() {
            tables.push(String::new());
        }
        let table = tables.last_mut().expect("pushed above");
        table.push_str(line);
        table.push('\n');
    }
    tables
}

/// `tables` as one config whose relative paths point into the project at `root`.
fn assembled(tables: &[String], root: &Path) -> String {
    let root = root.display();
    tables
        .concat()
        .replace("main = \"src/", &format!("main = \"{root}/src/"))
        .replace(
            "migrations_dir = \"",
            &format!("migrations_dir = \"{root}/"),
        )
        .replace(
            "[build]\n",
            &format!("[build]\ncwd = \"{root}\"\nwatch_dir = \"{root}/src\"\n"),
        )
}

/// A `wrangler dev` just spawned.
pub(crate) struct Started {
    pub(crate) child: Child,
    port: u16,
    pub(crate) inspector_port: Option<u16>,
    /// The log's length before the spawn: every line from here on is this start's.
    pub(crate) log_from: u64,
}

impl Started {
    pub(crate) fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Whether a worker booted now starts without the DevTools inspector that `wrangler
/// dev` always attaches, as in production: with `WORKER_INSPECTOR=off` (every worker of
/// a benchmark tool; tests/run-e2e.sh unsets it, the tests keep the CLI `make dev`
/// uses) or inside [`without_inspector`]. With one attached every `console.log`
/// captures its caller's stack and is relayed as a DevTools event: ~1.1 ms of local CPU
/// per floor `/register` that production never spends (tests/start-worker.mjs,
/// docs/rust-vs-js.md).
pub fn inspector_off() -> bool {
    WITHOUT_INSPECTOR.get() || std::env::var("WORKER_INSPECTOR").as_deref() == Ok("off")
}

thread_local! {
    static WITHOUT_INSPECTOR: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `boot` (which spawns workers) with every worker it boots on this thread started
/// without the inspector ([`inspector_off`]); a worker keeps its mode across restarts.
pub fn without_inspector<T>(boot: impl FnOnce() -> T) -> T {
    let before = WITHOUT_INSPECTOR.replace(true);
    let booted = boot();
    WITHOUT_INSPECTOR.set(before);
    booted
}

/// Starts `wrangler dev` on free ports over `state/persist`, logging to
/// `state/wrangler.log` (appending, so a restart keeps the earlier log); with
/// `without_inspector`, wrangler's API through tests/start-worker.mjs instead, taking
/// the same arguments.
pub(crate) fn start_wrangler(
    state: &Path,
    config: Option<&Path>,
    vars: &[(&str, &str)],
    without_inspector: bool,
) -> Started {
    let port = free_port();
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(state.join("wrangler.log"))
        .expect("log file");
    let log_from = log.metadata().expect("log file metadata").len();
    let (mut cmd, inspector_port) = if without_inspector {
        let mut cmd = node_in(state);
        // It always binds 127.0.0.1 and wants the config named (the CLI finds it).
        cmd.arg(project_root().join("tests/start-worker.mjs"))
            .arg("--config")
            .arg(config.map_or_else(|| project_root().join("wrangler.toml"), Path::to_path_buf));
        (cmd, None)
    } else {
        let inspector_port = free_port();
        let mut cmd = wrangler_in(state);
        cmd.args(["dev", "--ip", "127.0.0.1"])
            .args(["--inspector-port", &inspector_port.to_string()])
            // Default log level: `--log-level info` would hide the worker's console output.
            .arg("--show-interactive-dev-session=false");
        if let Some(config) = config {
            cmd.arg("--config").arg(config);
        }
        (cmd, Some(inspector_port))
    };
    cmd.args(["--port", &port.to_string()])
        .arg("--persist-to")
        .arg(state.join("persist"))
        // GET /__scheduled?cron=... runs the Cron Trigger (tests/tests/maintenance.rs).
        .arg("--test-scheduled");
    let defaults = [
        ("TEST_HOOKS", "on"),
        ("PUBLIC_URL", &*format!("http://127.0.0.1:{port}")),
        // Tests exercise hashing logic, not its cost; one test runs the real setting.
        ("PASSWORD_KDF_ITERATIONS", "1000"),
        // Many tests send bursts from one address; tests/tests/rate_limits.rs turns it on.
        ("RATE_LIMITS", "off"),
    ];
    for (name, value) in defaults.iter().chain(vars) {
        cmd.arg("--var").arg(format!("{name}:{value}"));
    }
    // The readiness check reads wrangler's plain "Ready on <URL>" line: no colour codes
    // around the URL, and not hidden by a quieter log level from the environment.
    cmd.env("NO_COLOR", "1")
        .env_remove("FORCE_COLOR")
        .env_remove("WRANGLER_LOG");
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log)
        // Its own process group, so Drop can kill wrangler and everything it started.
        .process_group(0);
    let child = cmd.spawn().expect("start wrangler dev");
    abort_cleanup::started(child.id() as i32, state.to_path_buf());
    Started {
        child,
        port,
        inspector_port,
        log_from,
    }
}
