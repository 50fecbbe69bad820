//! The harness's requests to a worker, against the tests' own writes to its database
//! from another process: the worker's D1 answers a lock it meets with SQLITE_BUSY (a
//! 500) instead of waiting, so such a write is made while no request is in flight.
//!
//! Requests go first: a write waits for a moment with none in flight, while new ones
//! keep starting, so the timing of a test that races two requests on a shared worker
//! is not changed by another test's write. Only a write that has waited [`PATIENCE`]
//! holds new requests back until those under way have ended. A request waits while a
//! write is being made (microseconds; an admin command's wrangler process, seconds),
//! and behind a write whose patience ran out, until the requests under way have ended.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a write lets new requests start before it holds them back.
const PATIENCE: Duration = Duration::from_secs(20);

#[derive(Default)]
pub(crate) struct Traffic {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    in_flight: usize,
    writing: bool,
}

/// A request under way; dropped when it has been answered.
pub(crate) struct InFlight<'a>(&'a Traffic);

/// A write under way: no request of the harness is in flight or starts until dropped.
pub struct Quiet<'a>(&'a Traffic);

impl Traffic {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'a>(&self, state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.changed.wait(state).unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn request(&self) -> InFlight<'_> {
        let mut state = self.lock();
        while state.writing {
            state = self.wait(state);
        }
        state.in_flight += 1;
        InFlight(self)
    }

    pub(crate) fn quiet(&self) -> Quiet<'_> {
        let deadline = Instant::now() + PATIENCE;
        let mut state = self.lock();
        loop {
            if state.writing {
                // Another write's turn: then this one waits for a quiet moment again.
                state = self.wait(state);
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if state.in_flight == 0 || left.is_zero() {
                break;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        state.writing = true;
        while state.in_flight > 0 {
            state = self.wait(state);
        }
        Quiet(self)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.in_flight -= 1;
        drop(state);
        self.0.changed.notify_all();
    }
}

impl Drop for Quiet<'_> {
    fn drop(&mut self) {
        self.0.lock().writing = false;
        self.0.changed.notify_all();
    }
}
