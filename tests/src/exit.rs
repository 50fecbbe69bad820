//! Work for the end of the test process. Rust never drops `static`s, so a worker held
//! in one (see [`crate::shared_app`]) would outlive `cargo test`: its wrangler/workerd
//! processes and its state directory are cleaned up here instead, from a C `atexit`
//! hook. libtest ends every run through `exit` (also when tests failed, and a test's
//! panic is caught by libtest), so the hook runs in each of those cases; only a
//! signal that kills the test process outright (SIGKILL) skips it.

use std::sync::{Mutex, Once};

type Hook = Box<dyn FnOnce() + Send>;

static HOOKS: Mutex<Vec<Hook>> = Mutex::new(Vec::new());

/// Runs `hook` when the process exits; hooks run newest first.
pub(crate) fn at_exit(hook: impl FnOnce() + Send + 'static) {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // SAFETY: registers a plain `extern "C"` function with the C runtime.
        let status = unsafe { libc::atexit(run_hooks) };
        assert_eq!(status, 0, "atexit failed");
    });
    lock().push(Box::new(hook));
}

fn lock() -> std::sync::MutexGuard<'static, Vec<Hook>> {
    HOOKS.lock().unwrap_or_else(|e| e.into_inner())
}

extern "C" fn run_hooks() {
    let hooks = std::mem::take(&mut *lock());
    for hook in hooks.into_iter().rev() {
        // A panic must not unwind into C.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(hook));
    }
}
