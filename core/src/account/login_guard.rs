//! Password-guessing protection for `POST /user/login`, without handing strangers a
//! way to lock the owner out.
//!
//! The anchor is Auth0's brute-force protection: failed passwords are counted per
//! (account, client network), so a stranger who guesses blocks only their own
//! network, never the owner's. Three budgets:
//! - per client network (an IPv4 address or an IPv6 /64), every login attempt
//!   counts: `AUTH_LIMITER`, 10 a minute, and for IPv6 its /48 too, 100 a minute
//!   (`AUTH_WIDE_LIMITER`; core::http::rate_limit);
//! - per (account, network), only *failed* passwords count: after
//!   [`MAX_FAILURES_PER_NETWORK`] within [`WINDOW_MS`], that network is refused for
//!   that account (429 until its window ends), before any password check, so the
//!   right password cannot be confirmed there either;
//! - per account, a far higher ceiling for guesses spread over many networks: after
//!   [`ACCOUNT_CEILING`] failures within [`WINDOW_MS`], networks the account has not
//!   signed in from within [`KNOWN_NETWORK_TTL_MS`] are refused. A known network is
//!   never stopped by the ceiling, only by its own failures.
//!
//! A password reset (the emailed unlock) clears every counter and forgets the known
//! networks (the reset may be the owner taking the account back from a thief, whose
//! network must not stay exempt). The guessing bound per window: the ceiling from
//! unknown networks together, plus [`MAX_FAILURES_PER_NETWORK`] from each known one.

/// Failed passwords per (account, network) per window before that network is refused.
pub const MAX_FAILURES_PER_NETWORK: u32 = 10;
/// Failed passwords per account per window, from all networks, before unknown
/// networks are refused.
pub const ACCOUNT_CEILING: u32 = 100;
/// The failure window: 15 minutes from the first failure in it.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// How long a successful login keeps its network known: 90 days.
pub const KNOWN_NETWORK_TTL_MS: i64 = 90 * 24 * 3600 * 1000;
/// Known networks kept per account: a login from another forgets the least recently
/// used past them. Without it one account signing in from every /64 of a /48 kept a
/// row per network for 90 days, and each known network adds
/// [`MAX_FAILURES_PER_NETWORK`] to the guessing bound per window (with the cap: at
/// most [`ACCOUNT_CEILING`] + 10 × 100).
pub const MAX_KNOWN_NETWORKS: i64 = 100;

/// A failure counter as stored (per account, or per account and network).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failures {
    pub count: u32,
    /// When the current window started (its first failure); `None` if never.
    pub window_start_ms: Option<i64>,
}

impl Failures {
    pub const NONE: Failures = Failures {
        count: 0,
        window_start_ms: None,
    };

    /// When this counter's window ends, if it holds at least `limit` failures now.
    fn over(self, limit: u32, now_ms: i64) -> Option<i64> {
        let end = self.window_start_ms? + WINDOW_MS;
        (self.count >= limit && now_ms < end).then_some(end)
    }
}

/// What login knows about the account and the client's network before checking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// Failures of this account from this network.
    pub network: Failures,
    /// Failures of this account from everywhere.
    pub account: Failures,
    /// Whether the account signed in from this network within the known-network TTL.
    pub known_network: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Check the password.
    Open,
    /// Refuse without checking; a retry may succeed after this many seconds.
    Locked { retry_after_seconds: u32 },
}

/// Whether a login `attempt` may check its password now.
pub fn gate(attempt: Attempt, now_ms: i64) -> Gate {
    let network_lock = attempt.network.over(MAX_FAILURES_PER_NETWORK, now_ms);
    let ceiling = match attempt.known_network {
        true => None,
        false => attempt.account.over(ACCOUNT_CEILING, now_ms),
    };
    match network_lock.max(ceiling) {
        None => Gate::Open,
        Some(end) => {
            let seconds = (end - now_ms + 999) / 1000;
            Gate::Locked {
                retry_after_seconds: u32::try_from(seconds).unwrap_or(u32::MAX).max(1),
            }
        }
    }
}

/// Whether an attempt whose failure was already counted (login counts every attempt
/// before checking its password, so concurrent guesses see each other) may check its
/// password: the counters as they were before it, `reserved` less this one, pass
/// [`gate`]. So at most [`MAX_FAILURES_PER_NETWORK`] attempts per network and
/// [`ACCOUNT_CEILING`] from unknown networks check a password in a window, however
/// many are sent at once.
pub fn admitted(reserved: Attempt, now_ms: i64) -> Gate {
    let before = |f: Failures| Failures {
        count: f.count.saturating_sub(1),
        ..f
    };
    gate(
        Attempt {
            network: before(reserved.network),
            account: before(reserved.account),
            ..reserved
        },
        now_ms,
    )
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

    fn attempt(network: Failures, account: Failures, known_network: bool) -> Attempt {
        Attempt {
            network,
            account,
            known_network,
        }
    }

    #[test]
    fn failures_below_the_limits_keep_the_gate_open() {
        let fresh = attempt(Failures::NONE, Failures::NONE, false);
        assert_eq!(gate(fresh, NOW), Gate::Open);
        let below = attempt(
            failures(MAX_FAILURES_PER_NETWORK - 1, 1000),
            failures(ACCOUNT_CEILING - 1, 1000),
            false,
        );
        assert_eq!(gate(below, NOW), Gate::Open);
    }

    #[test]
    fn a_networks_own_failures_lock_only_that_network_until_its_window_ends() {
        let here = attempt(
            failures(MAX_FAILURES_PER_NETWORK, 60_000),
            failures(MAX_FAILURES_PER_NETWORK, 60_000),
            false,
        );
        assert_eq!(
            gate(here, NOW),
            Gate::Locked {
                retry_after_seconds: 14 * 60
            }
        );
        // The same account from another network, unknown or known: open.
        for known in [false, true] {
            let elsewhere = attempt(
                Failures::NONE,
                failures(MAX_FAILURES_PER_NETWORK, 60_000),
                known,
            );
            assert_eq!(gate(elsewhere, NOW), Gate::Open);
        }
        let ending = attempt(failures(50, WINDOW_MS - 1), Failures::NONE, true);
        assert_eq!(
            gate(ending, NOW),
            Gate::Locked {
                retry_after_seconds: 1
            }
        );
        let over = attempt(failures(50, WINDOW_MS), Failures::NONE, false);
        assert_eq!(gate(over, NOW), Gate::Open);
    }

    #[test]
    fn the_account_ceiling_stops_unknown_networks_never_known_ones() {
        let spread = failures(ACCOUNT_CEILING, 120_000);
        assert_eq!(
            gate(attempt(Failures::NONE, spread, false), NOW),
            Gate::Locked {
                retry_after_seconds: 13 * 60
            }
        );
        assert_eq!(gate(attempt(Failures::NONE, spread, true), NOW), Gate::Open);
        let after = failures(ACCOUNT_CEILING, WINDOW_MS);
        assert_eq!(gate(attempt(Failures::NONE, after, false), NOW), Gate::Open);
    }

    #[test]
    fn the_later_of_two_locks_decides_the_retry() {
        let both = attempt(
            failures(MAX_FAILURES_PER_NETWORK, 600_000),
            failures(ACCOUNT_CEILING, 60_000),
            false,
        );
        assert_eq!(
            gate(both, NOW),
            Gate::Locked {
                retry_after_seconds: 14 * 60
            }
        );
    }

    #[test]
    fn an_attempt_counted_first_is_admitted_only_within_the_limits() {
        // The tenth counted failure from a network still checks its password, the
        // eleventh does not; the same at the account's ceiling for unknown networks.
        let tenth = attempt(
            failures(MAX_FAILURES_PER_NETWORK, 1000),
            failures(10, 1000),
            false,
        );
        assert_eq!(admitted(tenth, NOW), Gate::Open);
        let eleventh = attempt(
            failures(MAX_FAILURES_PER_NETWORK + 1, 1000),
            failures(11, 1000),
            false,
        );
        assert!(matches!(admitted(eleventh, NOW), Gate::Locked { .. }));
        let hundredth = attempt(failures(1, 0), failures(ACCOUNT_CEILING, 1000), false);
        assert_eq!(admitted(hundredth, NOW), Gate::Open);
        let past = attempt(failures(1, 0), failures(ACCOUNT_CEILING + 1, 1000), false);
        assert!(matches!(admitted(past, NOW), Gate::Locked { .. }));
        assert_eq!(
            admitted(
                Attempt {
                    known_network: true,
                    ..past
                },
                NOW
            ),
            Gate::Open
        );
        // The first failure of a new window.
        let first = attempt(failures(1, 0), failures(1, 0), false);
        assert_eq!(admitted(first, NOW), Gate::Open);
    }
}
