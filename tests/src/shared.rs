//! `shared_app()`: one worker for all the tests of a test binary that can share it.
//!
//! Booting `wrangler dev` is the most expensive thing a test does (node, wrangler's
//! bundling, workerd compiling the wasm: seconds of CPU each), and most tests need
//! nothing of a worker of their own: their organizations, emails, node addresses and
//! node ids are their own, so they read and assert only their own rows and mail.
//! Those tests call `shared_app()`; the first call boots the worker (the test
//! defaults, as [`crate::spawn_app`]) and the others wait for it and borrow it.
//!
//! A test keeps [`crate::spawn_app`] / [`crate::spawn_app_with`] when it needs other
//! `[vars]`, restarts the worker, breaks its D1 (triggers), counts whole tables or
//! every sent mail, reads the log for lines another test could also cause, or turns
//! the rate limiter on. Tests on the shared worker must use ids no other test of the
//! binary uses ([`unique`] helps).
//!
//! The worker lives until the process exits; an exit hook (crate::exit) then kills
//! its process group and removes its state directory.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use crate::{spawn_app, TestApp};

/// The worker shared by this test binary (see the module docs).
pub fn shared_app() -> &'static TestApp {
    static SHARED: OnceLock<TestApp> = OnceLock::new();
    crate::timing::start();
    SHARED.get_or_init(|| until_exit(spawn_app()))
}

/// Hands `app` to the process: its worker is killed and its state directory removed
/// when the test binary exits. For a worker kept in a `static`, which Rust never
/// drops: [`shared_app`]'s, or a binary's own shared worker with other `[vars]`.
pub fn until_exit(app: TestApp) -> TestApp {
    let group = app.process_group();
    let state = app.state_dir().to_path_buf();
    crate::exit::at_exit(move || {
        crate::kill_group(group);
        let _ = std::fs::remove_dir_all(state);
    });
    app
}

/// `<prefix>-<n>`, a fresh name for each call in this process: for organization ids,
/// email domains and node ids on the shared worker.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}
