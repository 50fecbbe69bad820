//! How the admin commands' SQL reaches D1: `wrangler d1 execute`, whose statements run
//! as one transaction, against the local database of `wrangler dev` or the deployed
//! one.
//!
//! Locally two processes share one SQLite file: the dev worker's workerd and the one
//! `wrangler d1 execute` starts for each call. Neither waits for the other's lock —
//! workerd sets no busy timeout — and the dev worker closes its database ~10 s after
//! its last request, checkpointing the write-ahead log into the file under an
//! exclusive lock (measured 2026-12-01: the file is closed and its `-wal` gone 10–12 s
//! after a request). A command that opens the file in those milliseconds is answered
//! `database is locked: SQLITE_BUSY`; it happened twice in the CLI's own tests
//! (2026-11-30 and 2026-12-01), on the command that came ~10 s after the test's last
//! request. Such a call is made again after a pause: SQLITE_BUSY means the
//! transaction took no lock it needed, so nothing of it was applied.

use super::args::Place;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// One statement's answer.
#[derive(Clone, Default)]
pub(super) struct StatementResult {
    pub rows: Vec<Value>,
    /// The database's size after the statement, in bytes, as D1 reports it.
    pub size_after: Option<u64>,
}

/// The pauses before each new try of a local call answered SQLITE_BUSY: ~4 s in
/// all, far longer than a checkpoint on close takes, short enough that a database
/// really held (another long command) still fails soon with SQLite's own message.
const LOCAL_BUSY_PAUSES_MS: [u64; 5] = [100, 250, 500, 1000, 2000];

/// Runs `sql` (one or more statements, one transaction) and returns each statement's
/// answer; a local call answered SQLITE_BUSY is made again ([module docs](self)),
/// saying so on stderr.
pub(super) fn execute(place: &Place, sql: &str) -> Result<Vec<StatementResult>, String> {
    let mut pauses = LOCAL_BUSY_PAUSES_MS.iter();
    loop {
        match execute_once(place, sql) {
            Err(Failure::Busy(message)) if !place.remote => {
                let Some(&pause_ms) = pauses.next() else {
                    return Err(message);
                };
                eprintln!(
                    "the local database file is locked by another process (wrangler dev \
                     closing it, or another command): nothing changed; trying again in {pause_ms} ms"
                );
                std::thread::sleep(Duration::from_millis(pause_ms));
            }
            Err(Failure::Busy(message) | Failure::Other(message)) => return Err(message),
            Ok(results) => return Ok(results),
        }
    }
}

enum Failure {
    /// SQLite's SQLITE_BUSY: the call changed nothing.
    Busy(String),
    Other(String),
}

fn execute_once(place: &Place, sql: &str) -> Result<Vec<StatementResult>, Failure> {
    let out = wrangler()
        .args(["d1", "execute", "DB", "--json"])
        .args(place.wrangler_flags())
        .args(["--command", sql])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            Failure::Other(format!("could not run wrangler ({e}); run from the project directory, or set WRANGLER=/path/to/gatehouse/node_modules/.bin/wrangler and pass --config /path/to/gatehouse/wrangler.toml"))
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let message = format!(
            "wrangler d1 execute failed:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // SQLite's own words for SQLITE_BUSY, as workerd reports it (not the bare code
        // name, which other codes' names and echoed SQL could contain too).
        return Err(if message.contains("database is locked") {
            Failure::Busy(message)
        } else {
            Failure::Other(message)
        });
    }
    let parsed: Value = serde_json::from_str(&stdout)
        .map_err(|e| Failure::Other(format!("unexpected wrangler output ({e}): {stdout}")))?;
    let results = parsed
        .as_array()
        .ok_or_else(|| Failure::Other("unexpected wrangler output".into()))?;
    Ok(results
        .iter()
        .map(|r| StatementResult {
            rows: r["results"].as_array().cloned().unwrap_or_default(),
            size_after: r["meta"]["size_after"].as_u64(),
        })
        .collect())
}

/// The project's wrangler, with a Node 22 first on PATH (wrangler needs it; `make`
/// installs it into node_modules/.bin, next to wrangler). From the project directory
/// that is ./node_modules/.bin; anywhere else `WRANGLER=/path/to/gatehouse/node_modules/.bin/wrangler`
/// names it, and the directory it is in goes first on PATH so its Node is found too.
fn wrangler() -> Command {
    let local_bin = Path::new("node_modules/.bin");
    let (program, bin_dir) = match std::env::var_os("WRANGLER") {
        Some(program) => {
            let dir = Path::new(&program).parent().map(Path::to_path_buf);
            (program, dir)
        }
        None if local_bin.join("wrangler").exists() => (
            local_bin.join("wrangler").into_os_string(),
            Some(local_bin.to_path_buf()),
        ),
        None => ("wrangler".into(), None),
    };
    let mut cmd = Command::new(program);
    if let Some(bin) = bin_dir.and_then(|d| d.canonicalize().ok()) {
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{path}", bin.display()));
    }
    cmd.env("WRANGLER_SEND_METRICS", "false")
        .env("NO_UPDATE_NOTIFIER", "1");
    cmd
}
