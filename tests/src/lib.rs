//! `spawn_app()`: the real worker, booted for one test; `shared_app()`: one worker
//! booted for all the tests of a test binary that can share it (shared.rs says which).
//!
//! Builds the worker once per test process (`make build`, a no-op when up to date),
//! takes the migrated D1 template made once per run (template.rs), then for each
//! worker copies that state into a fresh temp dir and starts `wrangler dev` (workerd
//! with local D1, KV and email) on free loopback ports. Workers share nothing and run
//! in parallel. Dropping the [`TestApp`] kills wrangler's whole process group
//! (wrangler, workerd, esbuild), also when the test panics; the shared worker, never
//! dropped, is killed by an exit hook (exit.rs). wrangler's own temp files go into the
//! worker's state dir too (`TMPDIR`), so a run leaves nothing in /tmp. With
//! `GATEHOUSE_TEST_TIMES` set, each test's time is logged for `make test`'s
//! slowest-tests list (timing.rs).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

mod abort_cleanup;
pub mod accounts;
mod backup;
mod d1_file;

pub mod bench;
mod email;
mod exit;
pub mod flashback;
mod http;
mod launch;
pub mod maintenance;
pub mod members;

pub mod node_env;
pub mod nodes;
pub mod rate_window;
pub mod seed;
mod setup;
mod shared;
mod spawn;
pub mod stages;
mod template;
mod timing;
mod traffic;
pub use backup::spawn_app_restored;
pub use email::SentEmail;
pub use http::TestResponse;
pub use launch::{inspector_off, without_inspector};
pub use setup::{dev_var, group_alive, kill_group, project_root};
pub use shared::{shared_app, unique, until_exit};
pub(crate) use spawn::boot_over;
pub use spawn::{
    spawn_app, spawn_app_with, spawn_app_with_limit, spawn_app_without_binding, spawn_worker,
    spawn_worker_with,
};

/// How long a `wrangler dev` may take to answer its first request.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(90);

/// How long a wait for something the worker prints or mails after its answer (in a
/// `waitUntil`) waits before it gives up: it returns as soon as that arrives, so only
/// a failing test waits this long, and a loaded CI machine gets time to deliver.
pub(crate) const ARRIVAL: Duration = Duration::from_secs(30);

pub struct TestApp {
    /// e.g. `http://127.0.0.1:41234`
    pub base_url: String,
    /// workerd's V8 inspector, through wrangler (bench/profile.mjs profiles with it);
    /// `None` when the worker runs without one ([`inspector_off`]), which restarts keep.
    pub inspector_port: Option<u16>,
    agent: ureq::Agent,
    child: Child,
    /// Where this start's lines begin in wrangler.log (the log outlives restarts).
    log_from: u64,
    /// The harness's own connection to the database file, open for the app's life so
    /// that no other connection's close or open takes the file's exclusive lock
    /// (d1_file, `hold_open`); `None` only while a test holds that lock itself.
    open_file: Mutex<Option<rusqlite::Connection>>,
    state: TempDir,
    /// A wrangler config other than the project's (see [`spawn_app_without_binding`]).
    config: Option<PathBuf>,
    /// One test at a time on the database file (its SQL, a backup's wrangler command):
    /// tests sharing a worker share its database.
    d1: Mutex<()>,
    /// The harness's requests in flight, and the tests' own writes to the database
    /// (traffic.rs, [`TestApp::hold_requests`]).
    traffic: traffic::Traffic,
}

impl TestApp {
    /// `true` once the worker answers; `false` if wrangler exited because a port was
    /// taken; panics on any other failure.
    fn wait_until_ready(&mut self) -> bool {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                if self.log_of_this_start().contains("Address already in use") {
                    return false;
                }
                panic!("wrangler dev exited early ({status}):\n{}", self.log());
            }
            // Our wrangler has bound the port once it logs "Ready on <our URL>", and the
            // worker serves once it answers JSON (health may be 503). Until both, whatever
            // answers on the port is not ours: another test's wrangler that won the
            // free-port race (seen: its inspector answering 403 "Forbidden"; and its
            // worker answering JSON, so that a test seeded our D1 and asked theirs). Keep
            // waiting, and the exit check above restarts on new ports.
            let bound = self
                .log_of_this_start()
                .contains(&format!("Ready on {}", self.base_url));
            let probe = self
                .agent
                .get(&self.url("/health"))
                .timeout(Duration::from_secs(2))
                .call();
            let ours = |r: &ureq::Response| bound && r.content_type() == "application/json";
            match probe {
                Ok(r) | Err(ureq::Error::Status(_, r)) if ours(&r) => return true,
                _ if started.elapsed() < STARTUP_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Ok(r) | Err(ureq::Error::Status(_, r)) => panic!(
                    "after {STARTUP_TIMEOUT:?} the port answers, but not as this worker \
                     ({} {}; our wrangler logged \"Ready on {}\": {bound}):\n{}",
                    r.status(),
                    r.content_type(),
                    self.base_url,
                    self.log()
                ),
                Err(e) => panic!(
                    "worker not ready after {STARTUP_TIMEOUT:?}: {e}\n{}",
                    self.log()
                ),
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Everything wrangler and the worker printed so far (console output included).
    pub fn log(&self) -> String {
        self.log_after(0)
    }

    /// What the running wrangler printed (not an earlier start's "Ready on" line, nor
    /// its "Address already in use").
    fn log_of_this_start(&self) -> String {
        self.log_after(self.log_from)
    }

    /// The log from byte `offset` on; read as bytes, so a multi-byte character half
    /// written at the end is replaced, not a reason to return nothing.
    fn log_after(&self, offset: u64) -> String {
        let bytes = fs::read(self.state.path().join("wrangler.log")).unwrap_or_default();
        let from = usize::try_from(offset).map_or(bytes.len(), |o| o.min(bytes.len()));
        String::from_utf8_lossy(&bytes[from..]).into_owned()
    }

    /// Waits (up to [`ARRIVAL`]) until the log contains `needle`, then returns the whole
    /// log. Worker console output reaches wrangler's log after the response, not with it.
    pub fn wait_for_log(&self, needle: &str) -> String {
        self.wait_for_log_after(0, needle)
    }

    /// Where the log ends now: [`TestApp::wait_for_log_after`] this mark reads only what
    /// was printed since.
    pub fn log_mark(&self) -> u64 {
        fs::metadata(self.state.path().join("wrangler.log")).map_or(0, |m| m.len())
    }

    /// Like [`TestApp::wait_for_log`], for what was printed after `mark` (from
    /// [`TestApp::log_mark`]); returns the log from there.
    pub fn wait_for_log_after(&self, mark: u64, needle: &str) -> String {
        let deadline = Instant::now() + ARRIVAL;
        loop {
            let log = self.log_after(mark);
            if log.contains(needle) || Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Where this app's local D1/KV state lives: `--persist-to` for wrangler commands
    /// (and `gatehouse-cli admin … --local --persist-to`).
    pub fn persist_dir(&self) -> PathBuf {
        self.state.path().join("persist")
    }

    /// This app's temp directory: its D1/KV state and wrangler's log.
    pub(crate) fn state_dir(&self) -> &Path {
        self.state.path()
    }

    /// A `TMPDIR` for other programs run against this app (e.g. `gatehouse-cli admin`,
    /// which runs wrangler): removed with the app, so nothing is left in /tmp.
    pub fn tmp_dir(&self) -> PathBuf {
        self.state.path().join("tmp")
    }

    /// Runs SQL against this app's own local D1 (the database file the running worker
    /// uses, d1_file.rs) and returns the last statement's rows; panics if the SQL fails.
    pub fn d1_query(&self, sql: &str) -> Vec<Value> {
        self.d1_execute(sql).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`TestApp::d1_query`], but a failing statement (e.g. a constraint) is an
    /// `Err` with SQLite's message, and the call changes nothing. SQL that writes waits
    /// until no request of the harness is in flight, and holds new ones back until it
    /// is done (d1_file.rs says why).
    pub fn d1_execute(&self, sql: &str) -> Result<Vec<Value>, String> {
        let access = d1_file::Access::of(sql);
        // Requests held first, then the file: a read never waits behind a write that is
        // waiting for a quiet moment.
        let _quiet = (access == d1_file::Access::Write).then(|| self.hold_requests());
        let _one_at_a_time = self.d1_lock();
        d1_file::execute(&self.persist_dir(), sql, access)
    }

    /// While the guard lives, no request the harness sends is in flight to this worker
    /// (it waits for a moment with none, traffic.rs): for a write to its database from
    /// another process, which the worker's D1 would meet with SQLITE_BUSY instead of
    /// waiting. Requests from other processes (a CLI, threads with their own client)
    /// are not counted.
    pub fn hold_requests(&self) -> traffic::Quiet<'_> {
        self.traffic.quiet()
    }

    /// Runs `command`, another process's work on this worker's database file (an
    /// operator's `gatehouse-cli admin … --local`, which runs `wrangler d1 execute`),
    /// with the file to itself: no request of the harness in flight, none of the tests'
    /// own SQL on it. That command's D1 meets a lock with SQLITE_BUSY at once, as the
    /// worker's does, where the tests' own SQL waits: another test's read on a shared
    /// worker, made while such a command ran, failed it once (2026-11-30). `command`
    /// itself must send no request through this app and run none of the tests' SQL on
    /// it: both would wait for the hold it is run under.
    pub fn with_database_to_itself<T>(&self, command: impl FnOnce() -> T) -> T {
        let _quiet = self.hold_requests();
        let _one_at_a_time = self.d1_lock();
        command()
    }

    /// Runs `command` while this process holds an exclusive lock on the worker's
    /// database file, as the dev worker does for a few milliseconds when it closes the
    /// file after ~10 s without a request when it is the file's last connection
    /// (d1_file::lock_exclusively). The lock is let go when `command` returns, so what
    /// it returns may be a process it started that is still running and waiting for
    /// the file. No request of the harness and none of the tests' SQL run meanwhile;
    /// the harness's own connection is closed for the lock and opened again after it,
    /// and the lock is taken once the worker has closed the file (within 30 s).
    pub fn with_database_file_locked<T>(&self, command: impl FnOnce() -> T) -> T {
        /// Opens the harness's connection again when dropped, also after a panic.
        struct ReopenAfter<'a>(
            &'a TestApp,
            std::sync::MutexGuard<'a, Option<rusqlite::Connection>>,
        );
        impl Drop for ReopenAfter<'_> {
            fn drop(&mut self) {
                *self.1 = Some(d1_file::hold_open(&self.0.persist_dir()));
            }
        }
        let _quiet = self.hold_requests();
        let _one_at_a_time = self.d1_lock();
        let mut open_file = self.open_file.lock().unwrap_or_else(|e| e.into_inner());
        drop(open_file.take());
        let _reopen = ReopenAfter(self, open_file);
        let lock = d1_file::lock_exclusively(&self.persist_dir(), Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{e}"));
        let answer = command();
        drop(lock);
        answer
    }

    /// Held by each request the harness sends (see [`TestApp::hold_requests`]).
    pub(crate) fn in_flight(&self) -> traffic::InFlight<'_> {
        self.traffic.request()
    }

    /// Held while the tests work on this app's database file (their SQL, a backup's
    /// wrangler command): a wrangler command that meets another's write lock fails at
    /// once with SQLITE_BUSY, where the tests' own SQL would wait.
    pub(crate) fn d1_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.d1.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Inserts an organization (if new) and an active public key for it, straight into
    /// D1: the HTTP endpoints that manage keys come later and are tested on their own.
    pub fn seed_org_key(&self, org_id: &str, key_id: &str, public_key_pem: &str, bits: usize) {
        self.d1_query(&format!(
            "INSERT OR IGNORE INTO organizations (id, name, created_at_ms) VALUES ('{org_id}', 'Org {org_id}', 0); \
             INSERT INTO org_keys (id, org_id, public_key_pem, bits, created_at_ms) \
             VALUES ('{key_id}', '{org_id}', '{public_key_pem}', {bits}, 0);"
        ));
    }

    /// Process group id of wrangler dev and its children (for leak checks).
    pub fn process_group(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        kill_group(self.process_group());
        abort_cleanup::stopped(self.process_group());
    }
}
