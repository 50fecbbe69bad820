//! Per-test wall time, for the "slowest tests" list `make test` prints (stable libtest
//! cannot report test times: `--report-time` is nightly-only).
//!
//! When `GATEHOUSE_TEST_TIMES` names a file, each test that boots or borrows a worker
//! appends one line `<seconds>\t<binary>::<test>` to it. libtest runs every test on a
//! thread of its own, named after the test, so the clock starts at the test's first
//! harness call ([`start`]) and stops when that thread ends (a thread-local's
//! destructor, which runs after a panic too). A test thread still ending while the
//! process exits is written by the exit hook instead, with the exit as its end.
//! Lines are short single `write`s to a file opened for appending, so parallel test
//! binaries do not interleave them.

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Mutex, Once};
use std::time::Instant;

/// Tests started and not yet written: (test name, start).
static RUNNING: Mutex<Vec<(String, Instant)>> = Mutex::new(Vec::new());

struct Timer(String);

impl Drop for Timer {
    fn drop(&mut self) {
        finish(&self.0);
    }
}

thread_local! {
    static TIMER: RefCell<Option<Timer>> = const { RefCell::new(None) };
}

/// Starts the clock for the test running on this thread, once per test.
pub(crate) fn start() {
    if std::env::var_os("GATEHOUSE_TEST_TIMES").is_none() {
        return;
    }
    let Some(name) = std::thread::current().name().map(str::to_owned) else {
        return;
    };
    if name == "main" {
        return;
    }
    let _ = TIMER.try_with(|timer| {
        let mut timer = timer.borrow_mut();
        if timer.is_none() {
            lock().push((name.clone(), Instant::now()));
            *timer = Some(Timer(name));
        }
    });
    static EXIT_HOOK: Once = Once::new();
    EXIT_HOOK.call_once(|| crate::exit::at_exit(finish_all));
}

fn lock() -> std::sync::MutexGuard<'static, Vec<(String, Instant)>> {
    RUNNING.lock().unwrap_or_else(|e| e.into_inner())
}

fn finish(name: &str) {
    let started = {
        let mut running = lock();
        let Some(at) = running.iter().position(|(n, _)| n == name) else {
            return;
        };
        running.swap_remove(at).1
    };
    write(name, started);
}

fn finish_all() {
    let running = std::mem::take(&mut *lock());
    for (name, started) in running {
        write(&name, started);
    }
}

fn write(name: &str, started: Instant) {
    let Some(path) = std::env::var_os("GATEHOUSE_TEST_TIMES") else {
        return;
    };
    let line = format!(
        "{:.1}\t{}::{name}\n",
        started.elapsed().as_secs_f64(),
        binary_name()
    );
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = file.write_all(line.as_bytes());
    }
}

/// The test binary's name without cargo's hash suffix (`accounts-1a2b…` → `accounts`).
fn binary_name() -> String {
    let exe = std::env::current_exe().unwrap_or_default();
    let stem = exe
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.bytes().all(|b| b.is_ascii_hexdigit()) => name.to_owned(),
        _ => stem,
    }
}
