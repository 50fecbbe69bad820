//! Overload is an answer, not a 500: D1's "overloaded" errors and KV's 429 mean "come
//! back later", so they are answered 503 with a `Retry-After` (docs/operations.md,
//! "Overload").
//!
//! Why jittered: when one database is overloaded, every node whose heartbeat failed
//! would otherwise retry at the same second and overload it again; spreading the
//! retries over a window lets the queue drain.

/// Whether a storage error is D1 or KV telling the caller to back off, not a fault.
/// D1 says "D1 DB is overloaded. Too many requests queued." or "… Requests queued for
/// too long."; KV answers a write rate above its limit with HTTP 429.
pub fn is_overloaded(error: &str) -> bool {
    let error = error.to_ascii_lowercase();
    error.contains("overloaded")
        || error.contains("queued for too long")
        || error.contains("too many requests queued")
        || error.contains("too many requests")
        || error
            .split(|c: char| !c.is_ascii_digit())
            .any(|n| n == "429")
}

/// The shortest and longest `Retry-After` of an overload answer, in seconds.
pub const RETRY_AFTER_MIN_SECONDS: u32 = 10;
pub const RETRY_AFTER_MAX_SECONDS: u32 = 40;

/// A `Retry-After` spread evenly over [`RETRY_AFTER_MIN_SECONDS`]..=[`RETRY_AFTER_MAX_SECONDS`]
/// by `random` (any value; a fresh random number per answer).
pub fn retry_after_seconds(random: u32) -> u32 {
    let span = RETRY_AFTER_MAX_SECONDS - RETRY_AFTER_MIN_SECONDS + 1;
    RETRY_AFTER_MIN_SECONDS + random % span
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overload_errors_are_told_from_faults() {
        for overloaded in [
            "D1_ERROR: D1 DB is overloaded. Too many requests queued.",
            "D1 DB is overloaded. Requests queued for too long.",
            "KV PUT failed: 429 Too Many Requests",
            "KV GET failed: 429",
            // As store::batch composes D1's error (message, then its cause's).
            "D1: D1_ERROR: D1 DB is overloaded. Too many requests queued. (cause: D1 DB is overloaded. Too many requests queued.)",
        ] {
            assert!(is_overloaded(overloaded), "{overloaded}");
        }
        for fault in [
            "D1_ERROR: UNIQUE constraint failed: users.email",
            "D1_ERROR: injected fault",
            "the D1 binding is missing",
            "KV GET failed: 500 Internal Server Error",
            "D1_ERROR: no such row 14290",
            "D1: D1_ERROR: UNIQUE constraint failed: users.email: SQLITE_CONSTRAINT (cause: UNIQUE constraint failed: users.email: SQLITE_CONSTRAINT)",
            "D1 answered unreadable results: expected value at line 1 column 1",
        ] {
            assert!(!is_overloaded(fault), "{fault}");
        }
    }

    #[test]
    fn retry_after_is_spread_over_the_whole_window() {
        let seen: std::collections::BTreeSet<u32> = (0..1000).map(retry_after_seconds).collect();
        assert_eq!(seen.first(), Some(&RETRY_AFTER_MIN_SECONDS));
        assert_eq!(seen.last(), Some(&RETRY_AFTER_MAX_SECONDS));
        assert_eq!(
            seen.len() as u32,
            RETRY_AFTER_MAX_SECONDS - RETRY_AFTER_MIN_SECONDS + 1
        );
        assert_eq!(
            retry_after_seconds(u32::MAX),
            retry_after_seconds(u32::MAX % 31)
        );
    }
}
