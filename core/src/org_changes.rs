//! How many key and environment changes an organization may make in a day.
//!
//! Why a budget: a key once added stays (a revoked key is what the audit and a removed
//! node's association name), and every change — a key added or revoked, an environment
//! set or deleted, a member's role set — writes a `key_audit` row kept for the
//! organization's life. A script
//! looping uploads and revocations, or environment writes, with one OWNER's token would
//! grow D1 without bound; the per-minute limiters bound only its pace. Counted from
//! the audit itself (its `(org_id, at_ms)` index), in the batch that writes the change,
//! so concurrent requests cannot slip past it and no other store is needed. Adding a
//! key, setting an environment and granting a role are refused once the day's budget
//! is spent; revoking a key, deleting an environment and taking a role away never are
//! (undoing must always work, a thief's changes included), but they count.

/// Changes (audit rows) an organization may make in any 24 hours.
pub const CHANGES_PER_DAY: u32 = 100;
/// The window the budget is counted over.
pub const WINDOW_MS: i64 = 24 * 3600 * 1000;

/// When the budget is spent, seconds until the next change is possible: the oldest of
/// the last [`CHANGES_PER_DAY`] changes (`oldest_counted_ms`) leaves the window.
/// At least a second, at most the window.
pub fn retry_after_seconds(oldest_counted_ms: i64, now_ms: i64) -> u32 {
    let ms = (oldest_counted_ms + WINDOW_MS - now_ms).clamp(1000, WINDOW_MS);
    ((ms + 999) / 1000) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_change_is_possible_when_the_oldest_counted_one_leaves_the_day() {
        let now = 10 * WINDOW_MS;
        assert_eq!(retry_after_seconds(now - WINDOW_MS + 90_500, now), 91);
        assert_eq!(retry_after_seconds(now, now), 86_400);
        // Already out of the window (a clock step): retry at once, not never.
        assert_eq!(retry_after_seconds(now - 2 * WINDOW_MS, now), 1);
    }
}
