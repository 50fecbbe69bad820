//! The worker's one clock: every route, the store and the scheduled handler read the
//! time here and nowhere else, so that a test can move it (TEST_HOOKS only) and so that
//! "now" means one thing in a request.

use std::sync::atomic::{AtomicI64, Ordering};

/// How far the clock is moved ahead, in ms. Only `POST /__test/clock` sets it, a route
/// that exists only with `TEST_HOOKS=on`; so in production it is always 0. Per isolate
/// (a wasm instance's memory): locally one isolate serves the requests and the
/// scheduled events, so the growth test's moves reach both.
static OFFSET_MS: AtomicI64 = AtomicI64::new(0);

/// Milliseconds since the Unix epoch (plus the test offset, 0 in production).
pub fn now_ms() -> i64 {
    // `Date.now()`: one call across the JS boundary (`worker::Date::now` makes two).
    worker::js_sys::Date::now() as i64 + OFFSET_MS.load(Ordering::Relaxed)
}

/// Moves the clock to `offset_ms` ahead of real time (test hooks only, see above).
pub fn set_test_offset_ms(offset_ms: i64) {
    OFFSET_MS.store(offset_ms, Ordering::Relaxed);
}
