//! How many key and environment changes an organization may make in a day.
//!
//! Why a budget: a key once added stays until its revocation is older than the audit's
//! retention (a revoked key is what the audit and a node's association name), and
//! every change — a key added or revoked, an environment set or deleted, a member's
//! role set or removal — writes a `key_audit` row kept for `AUDIT_RETENTION_DAYS`
//! (core::maintenance). A script looping uploads and revocations, or environment
//! writes, with one OWNER's token would grow D1 by as much as the retention holds at
//! its pace, and the per-minute limiters bound only the pace. Counted from
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

/// Audit entries an OWNER or ADMINISTRATOR reads per page
/// (`GET /organization/{idOrg}/audit`), at most and by default.
pub const AUDIT_PAGE_MAX: u32 = 100;
pub const AUDIT_PAGE_DEFAULT: u32 = 50;

/// A page of the audit trail, newest first: at most `limit` entries older than
/// `before` (the previous page's last entry: its time and id, which orders entries of
/// the same millisecond), or the newest.
#[derive(Debug, PartialEq, Eq)]
pub struct AuditPage {
    pub limit: u32,
    pub before: Option<(i64, String)>,
}

/// The page the query asks for, from the values as sent (undecoded: neither needs an
/// escape): `limit` 1 to [`AUDIT_PAGE_MAX`] in digits, `before` a cursor this service
/// gave out (`next` of the previous page). Err: what is wrong, for a 400.
pub fn audit_page(limit: Option<&str>, before: Option<&str>) -> Result<AuditPage, String> {
    let limit = crate::http::query::page_limit(limit, AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX)?;
    let before =
        match before {
            None => None,
            Some(raw) => Some(parse_cursor(raw).ok_or_else(|| {
                "before must be the `next` of a previous page, as given".to_owned()
            })?),
        };
    Ok(AuditPage { limit, before })
}

/// The cursor naming an entry: its time and id (`<at_ms>_<id>`).
pub fn audit_cursor(at_ms: i64, id: &str) -> String {
    format!("{at_ms}_{id}")
}

fn parse_cursor(raw: &str) -> Option<(i64, String)> {
    let (at, id) = raw.split_once('_')?;
    let at_ms = at.parse::<i64>().ok().filter(|t| *t >= 0)?;
    let id_ok = !id.is_empty()
        && id.len() <= 200
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    id_ok.then(|| (at_ms, id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_audit_page_is_bounded_and_its_cursor_is_ours() {
        assert_eq!(
            audit_page(None, None),
            Ok(AuditPage {
                limit: AUDIT_PAGE_DEFAULT,
                before: None
            })
        );
        let cursor = audit_cursor(1_764_000_000_000, "9b2c-1f-key-3");
        assert_eq!(
            audit_page(Some("100"), Some(&cursor)),
            Ok(AuditPage {
                limit: 100,
                before: Some((1_764_000_000_000, "9b2c-1f-key-3".to_owned()))
            })
        );
        for limit in ["0", "101", "-1", "ten", "", "1.5", "+5", "%35"] {
            assert!(audit_page(Some(limit), None).is_err(), "{limit:?}");
        }
        for before in [
            "", "_", "12", "12_", "x_abc", "-5_abc", "12_a b", "12_a'b", "12_%61",
        ] {
            assert!(audit_page(None, Some(before)).is_err(), "{before:?}");
        }
    }

    #[test]
    fn the_next_change_is_possible_when_the_oldest_counted_one_leaves_the_day() {
        let now = 10 * WINDOW_MS;
        assert_eq!(retry_after_seconds(now - WINDOW_MS + 90_500, now), 91);
        assert_eq!(retry_after_seconds(now, now), 86_400);
        // Already out of the window (a clock step): retry at once, not never.
        assert_eq!(retry_after_seconds(now - 2 * WINDOW_MS, now), 1);
    }
}
