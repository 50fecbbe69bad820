//! Node liveness: whether a node still registers. Computed from the stored last-seen
//! time (`nodes.updated_at_ms`), which the /register hot path may leave up to
//! `NODE_SEEN_RESOLUTION_SECONDS` stale — so the threshold must be well above that and
//! above the installer's registration interval (docs/operations.md, "Node liveness").

/// The status the Flashback client knows for a node that stopped registering.
pub const OFFLINE: &str = "OFFLINE";

/// Whether a node last seen at `last_seen_ms` is offline at `now_ms`.
pub fn is_offline(last_seen_ms: i64, now_ms: i64, offline_after_seconds: u32) -> bool {
    now_ms - last_seen_ms > i64::from(offline_after_seconds) * 1000
}

/// The status a node is listed with: what its installer last sent while it is live
/// (e.g. "running"), [`OFFLINE`] once it is not.
pub fn listed_status(
    stored: &str,
    last_seen_ms: i64,
    now_ms: i64,
    offline_after_seconds: u32,
) -> &str {
    if is_offline(last_seen_ms, now_ms, offline_after_seconds) {
        OFFLINE
    } else {
        stored
    }
}

/// The oldest last-seen time a node may have and still be listed in the directory.
pub fn directory_since_ms(now_ms: i64, offline_after_seconds: u32) -> i64 {
    now_ms - i64::from(offline_after_seconds) * 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_offline_strictly_after_the_threshold() {
        let seen = 1_000_000;
        assert_eq!(
            listed_status("running", seen, seen + 1_800_000, 1800),
            "running"
        );
        assert_eq!(
            listed_status("running", seen, seen + 1_800_001, 1800),
            OFFLINE
        );
        assert!(!is_offline(seen, seen, 60));
        // The directory lists exactly the nodes that are not offline.
        let since = directory_since_ms(seen + 1_800_000, 1800);
        assert_eq!(since, seen);
        assert!(!is_offline(since, seen + 1_800_000, 1800));
    }
}
