//! The steady state (issue 24): how long each kind of row that expires is kept, and how
//! the scheduled maintenance (src/scheduled.rs) deletes it — in bounded batches, a
//! bounded number of D1 round trips per run, idempotently (two runs, even concurrent,
//! delete each row once and nothing else). Periods are documented in
//! (docs/operations.md, "Retention"); rows that never expire are listed there too.

pub mod liveness;

use crate::account::login_guard::{KNOWN_NETWORK_TTL_MS, WINDOW_MS};
use crate::config::Config;
use crate::nodes::signed::nonce_ttl_seconds;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// A sign-in is kept this long after its newest refresh token expired (until then its
/// tokens are answered SESSION_ENDED/TOKEN_REUSED, after it they are expired anyway).
pub const SIGN_IN_GRACE_MS: i64 = DAY_MS;
/// Verification and reset links are kept this long after they expire, so a late click
/// still reads "expired" or "already used" for a week before it reads "invalid".
pub const LINK_GRACE_MS: i64 = 7 * DAY_MS;
/// An account never verified is kept this long after its last verification or reset
/// link was sent, however old it is: a person acting on it (a verification link lives
/// a day) is not cut off mid-way. Someone asking for a link every day keeps it so;
/// the address's owner ends a squatter's hold with a password reset.
pub const UNVERIFIED_LINK_HOLD_MS: i64 = DAY_MS;
/// Rows one statement deletes at most: with each table's time index (migrations 0009–0014,
/// 0018, 0020, 0022) each delete
/// is a range scan of this many rows, far inside D1's 30 s per statement.
pub const BATCH_ROWS: u32 = 500;
/// Round trips (one D1 batch each) a run makes at most. The first round runs every
/// sweep; each later one only the sweeps that filled their batch in the round before
/// (the others are done), so a table behind does not re-run the rest. A round holds at
/// most [`STATEMENTS_PER_ROUND`] statements, and a run whose round fails runs that round
/// again once, a sweep at a time (src/scheduled.rs), so a run makes at most 899 queries
/// of the 1,000 a Workers Paid invocation may make (docs/deploying.md: gatehouse needs Paid),
/// and removes at most 15,000 rows a table: 90,000 an hour, 2.16 million a day. A run
/// that hits this cap finishes on the next one.
pub const MAX_ROUNDS: u32 = 30;
/// Statements of a round that runs every sweep: one for each of the eleven
/// single-table sweeps, the stale nodes' tombstone insert, the node ids' count of those
/// going (migration 0028), the ten that remove unverified accounts and the six that
/// remove erased ones (src/store/maintenance.rs, whose round refuses to run past it).
pub const STATEMENTS_PER_ROUND: u32 = 29;
const _: () = assert!((MAX_ROUNDS + 1) * STATEMENTS_PER_ROUND <= 1_000);

/// What the maintenance deletes, one statement (a table) each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sweep {
    /// Sign-ins whose newest token expired more than [`SIGN_IN_GRACE_MS`] ago.
    SignIns,
    /// Verification links expired more than [`LINK_GRACE_MS`] ago, used or not.
    EmailVerifications,
    /// Reset links expired more than [`LINK_GRACE_MS`] ago, used or not.
    PasswordResets,
    /// Failure windows that closed (login_guard's 15 minutes).
    LoginFailures,
    /// Known networks not signed in from for 90 days (login_guard's TTL).
    LoginNetworks,
    /// Node tombstones past the replay window (2 × skew + 60 s).
    NodeTombstones,
    /// Nodes not seen for `NODE_REMOVE_AFTER_DAYS` (each leaves a tombstone).
    StaleNodes,
    /// `POST /secrets` signatures claimed in D1, past their nonce's expiry (each claim
    /// also sweeps 20 itself; this catches the rest once fetches stop).
    SecretsFetches,
    /// Node ids of `/register_node_secret` no secret was compared with for
    /// `NODE_REMOVE_AFTER_DAYS`, as silent nodes: anyone may add node ids.
    NodeSecrets,
    /// Accounts whose email was never verified, `UNVERIFIED_ACCOUNT_DAYS` after their
    /// sign-up and a day ([`UNVERIFIED_LINK_HOLD_MS`]) after their last verification or
    /// reset link: the user, its links, sign-ins and
    /// memberships, and each organization only unverified accounts belonged to unless
    /// something else holds it (keys, nodes, environments, audit). Counted in users.
    UnverifiedAccounts,
    /// Audit entries (`key_audit`) older than `AUDIT_RETENTION_DAYS`: an organization's
    /// trail is its last year or so of changes, not all of them, so that its rows
    /// stop growing (a day's changes are bounded, the days are not).
    KeyAudit,
    /// Keys revoked more than `AUDIT_RETENTION_DAYS` ago that no node names: their
    /// audit entries went (above), and a revoked key verifies nothing and stops nobody.
    RevokedKeys,
    /// Erased accounts (`erased:<id>`, kept only as the anchor of the audit entries that
    /// name them as actor) once no entry names them any more, with any row of their own
    /// a request wrote while they were being erased.
    ErasedAccounts,
}

impl Sweep {
    /// In the order a round runs them: the audit's sweep before the erased accounts',
    /// so an account whose last entry goes in a round goes in the same round.
    pub const ALL: [Sweep; 13] = [
        Sweep::SignIns,
        Sweep::EmailVerifications,
        Sweep::PasswordResets,
        Sweep::LoginFailures,
        Sweep::LoginNetworks,
        Sweep::NodeTombstones,
        Sweep::StaleNodes,
        Sweep::SecretsFetches,
        Sweep::NodeSecrets,
        Sweep::UnverifiedAccounts,
        Sweep::KeyAudit,
        Sweep::RevokedKeys,
        Sweep::ErasedAccounts,
    ];

    /// The name in the run's log line and data point (the table, but for stale nodes).
    pub fn name(self) -> &'static str {
        match self {
            Sweep::SignIns => "sign_ins",
            Sweep::EmailVerifications => "email_verifications",
            Sweep::PasswordResets => "password_resets",
            Sweep::LoginFailures => "login_failures",
            Sweep::LoginNetworks => "login_networks",
            Sweep::NodeTombstones => "node_tombstones",
            Sweep::StaleNodes => "stale_nodes",
            Sweep::SecretsFetches => "secrets_fetches",
            Sweep::NodeSecrets => "node_secrets",
            Sweep::UnverifiedAccounts => "unverified_accounts",
            Sweep::KeyAudit => "key_audit",
            Sweep::RevokedKeys => "revoked_keys",
            Sweep::ErasedAccounts => "erased_accounts",
        }
    }
}

/// The configured periods a run needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub tombstone_retention_ms: i64,
    pub node_remove_after_ms: i64,
    pub unverified_account_ms: i64,
    pub audit_retention_ms: i64,
}

impl Policy {
    pub fn of(config: &Config) -> Policy {
        Policy {
            tombstone_retention_ms: nonce_ttl_seconds(config.timestamp_skew_seconds) as i64 * 1000,
            node_remove_after_ms: i64::from(config.node_remove_after_days) * DAY_MS,
            unverified_account_ms: i64::from(config.unverified_account_days) * DAY_MS,
            audit_retention_ms: i64::from(config.audit_retention_days) * DAY_MS,
        }
    }

    /// Rows of `sweep` older than this (in its own time column) are deleted at `now_ms`.
    pub fn cutoff_ms(&self, sweep: Sweep, now_ms: i64) -> i64 {
        now_ms
            - match sweep {
                Sweep::SignIns => SIGN_IN_GRACE_MS,
                Sweep::EmailVerifications | Sweep::PasswordResets => LINK_GRACE_MS,
                Sweep::LoginFailures => WINDOW_MS,
                Sweep::LoginNetworks => KNOWN_NETWORK_TTL_MS,
                Sweep::NodeTombstones => self.tombstone_retention_ms,
                Sweep::StaleNodes | Sweep::NodeSecrets => self.node_remove_after_ms,
                // Its own column is the expiry already.
                Sweep::SecretsFetches => 0,
                // Of the sign-up (links hold it for UNVERIFIED_LINK_HOLD_MS more).
                Sweep::UnverifiedAccounts => self.unverified_account_ms,
                // Of the change, and of the revocation.
                Sweep::KeyAudit | Sweep::RevokedKeys => self.audit_retention_ms,
                // None: an erased account goes with the last entry naming it.
                Sweep::ErasedAccounts => 0,
            }
    }
}

/// What one run removed, and whether it finished (every sweep's last batch not full).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub removed: [u64; Sweep::ALL.len()],
    pub rounds: u32,
    pub complete: bool,
    /// Sweeps whose statements D1 refused this run (each tried alone once the round
    /// that held them failed), named in the log line; the others went on.
    pub failed: Vec<Sweep>,
}

impl Report {
    /// Adds one round's deletions, `removed[i]` by `swept[i]`; answers the sweeps of
    /// the next round: those that filled their batch, while rounds remain (none: the
    /// run ends).
    pub fn add_round(&mut self, swept: &[Sweep], removed: &[u64]) -> Vec<Sweep> {
        self.rounds += 1;
        let mut full = Vec::new();
        for (&sweep, &n) in swept.iter().zip(removed) {
            self.removed[sweep as usize] += n;
            if n >= u64::from(BATCH_ROWS) {
                full.push(sweep);
            }
        }
        self.complete = full.is_empty();
        if self.rounds >= MAX_ROUNDS {
            full.clear();
        }
        // What a sweep still behind frees is taken in the same round: erased accounts
        // whose last audit entry went, revoked keys whose last node went. In the order
        // of a round: a filter of ALL, not a sort (whose code measured ~3 KB raw).
        let freed_by = |s: Sweep| match s {
            Sweep::ErasedAccounts => Some(Sweep::KeyAudit),
            Sweep::RevokedKeys => Some(Sweep::StaleNodes),
            _ => None,
        };
        Sweep::ALL
            .into_iter()
            .filter(|&s| full.contains(&s) || freed_by(s).is_some_and(|b| full.contains(&b)))
            .collect()
    }

    pub fn total(&self) -> u64 {
        self.removed.iter().sum()
    }

    /// The run's one log line (docs/operations.md, "Scheduled maintenance").
    pub fn log_line(&self, cron: &str, now_ms: i64, duration_ms: i64) -> serde_json::Value {
        let removed: serde_json::Map<String, serde_json::Value> = Sweep::ALL
            .iter()
            .zip(self.removed)
            .map(|(s, n)| (s.name().to_owned(), n.into()))
            .collect();
        let mut line = serde_json::json!({
            "msg": "maintenance", "cron": cron, "atMs": now_ms, "removed": removed,
            "total": self.total(), "rounds": self.rounds, "complete": self.complete,
            "durationMs": duration_ms,
        });
        if !self.failed.is_empty() {
            line["failed"] = self.failed.iter().map(|s| s.name()).collect();
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            tombstone_retention_ms: 660_000,
            node_remove_after_ms: 30 * DAY_MS,
            unverified_account_ms: 30 * DAY_MS,
            audit_retention_ms: 400 * DAY_MS,
        }
    }

    #[test]
    fn each_sweep_keeps_what_its_answers_still_need() {
        let now = 1_000 * DAY_MS;
        let p = policy();
        assert_eq!(p.cutoff_ms(Sweep::SignIns, now), now - DAY_MS);
        assert_eq!(
            p.cutoff_ms(Sweep::EmailVerifications, now),
            now - 7 * DAY_MS
        );
        assert_eq!(p.cutoff_ms(Sweep::LoginFailures, now), now - 15 * 60 * 1000);
        assert_eq!(p.cutoff_ms(Sweep::LoginNetworks, now), now - 90 * DAY_MS);
        assert_eq!(p.cutoff_ms(Sweep::NodeTombstones, now), now - 660_000);
        assert_eq!(p.cutoff_ms(Sweep::StaleNodes, now), now - 30 * DAY_MS);
        assert_eq!(p.cutoff_ms(Sweep::NodeSecrets, now), now - 30 * DAY_MS);
        assert_eq!(
            p.cutoff_ms(Sweep::UnverifiedAccounts, now),
            now - 30 * DAY_MS
        );
        assert_eq!(p.cutoff_ms(Sweep::KeyAudit, now), now - 400 * DAY_MS);
        assert_eq!(p.cutoff_ms(Sweep::RevokedKeys, now), now - 400 * DAY_MS);
    }

    #[test]
    fn the_audit_goes_before_what_it_names() {
        let at = |sweep| Sweep::ALL.iter().position(|s| *s == sweep).unwrap();
        assert!(at(Sweep::KeyAudit) < at(Sweep::RevokedKeys));
        assert!(at(Sweep::KeyAudit) < at(Sweep::ErasedAccounts));
    }

    #[test]
    fn links_outlive_the_window_the_cap_counts_them_in() {
        // A link's row goes once it expired before the cutoff; the cap
        // (account::LINKS_PER_WINDOW) counts links made in its window, so none of those
        // may be gone yet, whatever its lifetime.
        use crate::account::{password_reset::RESET_TTL_MS, LINK_WINDOW_MS};
        let now = 1_000 * DAY_MS;
        let made = now - LINK_WINDOW_MS;
        for (sweep, ttl) in [
            (
                Sweep::EmailVerifications,
                crate::account::verification::VERIFICATION_TTL_MS,
            ),
            (Sweep::PasswordResets, RESET_TTL_MS),
        ] {
            assert!(made + ttl >= policy().cutoff_ms(sweep, now), "{sweep:?}");
        }
    }

    #[test]
    fn sweeps_are_numbered_in_the_order_a_round_runs_them() {
        for (i, sweep) in Sweep::ALL.iter().enumerate() {
            assert_eq!(*sweep as usize, i, "{sweep:?}");
        }
    }

    #[test]
    fn a_run_goes_on_only_with_the_sweeps_whose_batch_was_full_while_rounds_remain() {
        let batch = u64::from(BATCH_ROWS);
        let mut r = Report::default();
        let mut first = [0; Sweep::ALL.len()];
        first[2] = batch;
        first[9] = batch;
        first[0] = 7;
        let next = r.add_round(&Sweep::ALL, &first);
        assert_eq!(next, [Sweep::PasswordResets, Sweep::UnverifiedAccounts]);
        assert!(!r.complete);
        // The next round runs only those two: one is done, the other still full.
        let next = r.add_round(&next, &[3, batch]);
        assert_eq!(next, [Sweep::UnverifiedAccounts]);
        let next = r.add_round(&next, &[1]);
        assert!(next.is_empty());
        // A sweep still behind brings what it frees along, in the order of a round.
        let mut audit_behind = [0; Sweep::ALL.len()];
        audit_behind[Sweep::KeyAudit as usize] = batch;
        audit_behind[Sweep::StaleNodes as usize] = batch;
        assert_eq!(
            Report::default().add_round(&Sweep::ALL, &audit_behind),
            [
                Sweep::StaleNodes,
                Sweep::KeyAudit,
                Sweep::RevokedKeys,
                Sweep::ErasedAccounts
            ]
        );
        assert!(r.complete);
        assert_eq!(r.rounds, 3);
        assert_eq!(r.removed[0], 7);
        assert_eq!(r.removed[2], batch + 3);
        assert_eq!(r.removed[9], 2 * batch + 1);
        assert_eq!(r.total(), 3 * batch + 11);
        let mut capped = Report::default();
        let mut sweeps = Sweep::ALL.to_vec();
        let mut rounds = 0;
        while !sweeps.is_empty() && rounds < 100 {
            let full = vec![batch; sweeps.len()];
            sweeps = capped.add_round(&sweeps, &full);
            rounds += 1;
        }
        assert_eq!(rounds, MAX_ROUNDS);
        assert!(
            !capped.complete,
            "the cap is reported, the next run goes on"
        );
    }

    #[test]
    fn a_failed_sweep_is_named_and_the_others_are_counted() {
        let mut r = Report::default();
        let next = r.add_round(&[Sweep::SignIns, Sweep::KeyAudit], &[4, 2]);
        assert!(next.is_empty());
        r.failed.push(Sweep::UnverifiedAccounts);
        let line = r.log_line("7 * * * *", 5, 12);
        assert_eq!(line["failed"], serde_json::json!(["unverified_accounts"]));
        assert_eq!(line["total"], 6);
        assert!(Report::default().log_line("", 0, 0).get("failed").is_none());
    }

    #[test]
    fn the_log_line_names_every_sweep() {
        let mut r = Report::default();
        r.add_round(&Sweep::ALL, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
        let line = r.log_line("7 * * * *", 5, 12);
        assert_eq!(line["removed"]["stale_nodes"], 7);
        assert_eq!(line["removed"]["secrets_fetches"], 8);
        assert_eq!(line["removed"]["node_secrets"], 9);
        assert_eq!(line["removed"]["sign_ins"], 1);
        assert_eq!(line["removed"]["unverified_accounts"], 10);
        assert_eq!(line["removed"]["key_audit"], 11);
        assert_eq!(line["removed"]["revoked_keys"], 12);
        assert_eq!(line["removed"]["erased_accounts"], 13);
        assert_eq!(line["total"], 91);
        assert_eq!(line["durationMs"], 12);
        assert_eq!(line["complete"], true);
    }
}
