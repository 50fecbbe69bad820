//! Process groups to kill when a panic aborts. Release builds of this workspace abort
//! on panic (Cargo.toml: the worker's wasm wants it), so a benchmark binary that
//! panics (`cargo run --release --bin bench_…`) never runs `TestApp`'s Drop and would
//! leave its wrangler and workerd processes running and its state directory (D1, KV,
//! log) behind. Under abort, a panic hook kills every group still registered and
//! removes its directory before the process ends. Under unwind (the test
//! profile) Drop does it, and a hook must not: one test's panic would kill workers
//! that other tests of the binary share.

use crate::setup::kill_group;
use std::path::PathBuf;
use std::sync::{Mutex, Once};

static GROUPS: Mutex<Vec<(i32, PathBuf)>> = Mutex::new(Vec::new());
static HOOK: Once = Once::new();

/// Registers a wrangler process group this process started, over `state`.
pub fn started(pgid: i32, state: PathBuf) {
    if !cfg!(panic = "abort") {
        return;
    }
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            let groups = GROUPS.lock().map(|g| g.clone()).unwrap_or_default();
            for (pgid, state) in groups {
                kill_group(pgid);
                let _ = std::fs::remove_dir_all(state);
            }
        }));
    });
    if let Ok(mut groups) = GROUPS.lock() {
        groups.push((pgid, state));
    }
}

/// Unregisters a group that was stopped (or exited) the ordinary way.
pub fn stopped(pgid: i32) {
    if let Ok(mut groups) = GROUPS.lock() {
        groups.retain(|(p, _)| *p != pgid);
    }
}
