//! Password-guessing protection for `POST /user/login`, without handing attackers a
//! way to lock the owner out.
//!
//! Two budgets:
//! - per client network (an IPv4 address or an IPv6 /64), every login attempt
//!   counts: `AUTH_LIMITER`, 10 a minute (core::http::rate_limit);
//! - per account, only *failed* passwords count: after [`MAX_FAILURES`] failures
//!   within [`WINDOW_MS`], the account refuses logins from networks it has never
//!   logged in from (429 until the window ends), before any password check. A
//!   network the account logged in from within [`KNOWN_NETWORK_TTL_MS`] is exempt,
//!   so guesses from elsewhere cannot keep the owner out where they usually sign in.
//!
//! The guessing bound: at most [`MAX_FAILURES`] guesses per window from all unknown
//! networks together, plus each known network's own per-network budget.

/// Failed passwords per account per window before unknown networks are refused.
pub const MAX_FAILURES: u32 = 10;
/// The failure window: 15 minutes from the first failure in it.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// How long a successful login keeps its network known: 90 days.
pub const KNOWN_NETWORK_TTL_MS: i64 = 90 * 24 * 3600 * 1000;

/// The account's failure counter as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failures {
    pub count: u32,
    /// When the current window started (its first failure); `None` if never.
    pub window_start_ms: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Check the password.
    Open,
    /// Refuse without checking; a retry may succeed after this many seconds.
    Locked { retry_after_seconds: u32 },
}

/// Whether a login for an account with `failures` may check its password now, from a
/// network the account has (`known_network`) or has not logged in from before.
pub fn gate(failures: Failures, known_network: bool, now_ms: i64) -> Gate {
    let Some(start) = failures.window_start_ms else {
        return Gate::Open;
    };
    let window_end = start + WINDOW_MS;
    if known_network || failures.count < MAX_FAILURES || now_ms >= window_end {
        return Gate::Open;
    }
    let seconds = (window_end - now_ms + 999) / 1000;
    Gate::Locked {
        retry_after_seconds: u32::try_from(seconds).unwrap_or(u32::MAX).max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    fn failures(count: u32, ago_ms: i64) -> Failures {
        Failures {
            count,
            window_start_ms: Some(NOW - ago_ms),
        }
    }

    #[test]
    fn failures_below_the_limit_keep_the_gate_open() {
        let never = Failures {
            count: 0,
            window_start_ms: None,
        };
        assert_eq!(gate(never, false, NOW), Gate::Open);
        assert_eq!(
            gate(failures(MAX_FAILURES - 1, 1000), false, NOW),
            Gate::Open
        );
    }

    #[test]
    fn too_many_failures_lock_unknown_networks_until_the_window_ends() {
        assert_eq!(
            gate(failures(MAX_FAILURES, 60_000), false, NOW),
            Gate::Locked {
                retry_after_seconds: 14 * 60
            }
        );
        assert_eq!(
            gate(failures(MAX_FAILURES + 50, WINDOW_MS - 1), false, NOW),
            Gate::Locked {
                retry_after_seconds: 1
            }
        );
        assert_eq!(
            gate(failures(MAX_FAILURES, WINDOW_MS), false, NOW),
            Gate::Open
        );
    }

    #[test]
    fn known_networks_are_never_locked_out() {
        assert_eq!(gate(failures(1000, 1000), true, NOW), Gate::Open);
    }
}
