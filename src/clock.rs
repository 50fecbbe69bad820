//! The worker's one clock: every route, the store and the scheduled handler read the
//! time here and nowhere else, so that a test can move it (TEST_HOOKS only) and so that
//! "now" means one thing in a request.

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}
