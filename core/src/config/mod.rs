//! Typed configuration, parsed once from the worker's environment.
//!
//! Plain settings come from `[vars]` in wrangler.toml (each has a default here, so a
//! missing var is never an error); secrets come from `.dev.vars` locally and
//! `wrangler secret put NAME --env production` in production and have no default: a missing or weak secret
//! is a [`ConfigError`], logged by name and answered with a 500, never papered over.

mod secret;

use secret::jwt_secret;
pub use secret::{Secret, MIN_JWT_SECRET_BYTES};
use std::fmt;

/// Password-KDF hash function (PBKDF2-HMAC-<hash>).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KdfHash {
    Sha256,
    Sha512,
}

impl KdfHash {
    pub fn parse(s: &str) -> Option<KdfHash> {
        match s {
            "pbkdf2-sha256" => Some(KdfHash::Sha256),
            "pbkdf2-sha512" => Some(KdfHash::Sha512),
            _ => None,
        }
    }

    /// The PHC algorithm identifier, also the config spelling.
    pub fn phc_id(self) -> &'static str {
        match self {
            KdfHash::Sha256 => "pbkdf2-sha256",
            KdfHash::Sha512 => "pbkdf2-sha512",
        }
    }
}

impl Config {
    /// The secret a rotation is moving away from, if one is in progress.
    pub fn jwt_previous(&self) -> Option<&[u8]> {
        self.jwt_previous_secret.as_ref().map(Secret::expose)
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    /// Public base URL of this worker, used in links sent by email (no trailing slash).
    pub public_url: String,
    /// Sender address of outgoing mail.
    pub mail_from: String,
    /// How far a signed /register timestamp may be from the worker's clock.
    pub timestamp_skew_seconds: u32,
    pub password_kdf: KdfHash,
    pub password_kdf_iterations: u32,
    /// Length of the free trial a new organization gets.
    pub trial_days: u32,
    /// Most active keys an organization may hold.
    pub org_keys_max: u32,
    /// Most nodes an organization may hold (`NODES_MAX`): a new node beyond it is
    /// refused, re-registrations of its nodes are not. Bounds what one organization's
    /// key can add to the database (migration 0019).
    pub nodes_max: u32,
    /// Length limits on /register_node_secret's fields; none by default (Infera's model).
    pub node_secret_policy: crate::node_secret::NodeSecretPolicy,
    /// `NODE_SECRETS_MAX`: most node ids /register_node_secret holds (migration 0028);
    /// past it a new one is refused (503), registered ones keep working. The route
    /// takes no credentials, so this bounds what strangers can store there.
    pub node_secrets_max: u32,
    /// `NODE_SECRETS_PER_NETWORK`: most of them one network (an IPv4 /24, an IPv6 /48)
    /// holds (migration 0029); past it that network's new ones are refused (429).
    pub node_secrets_per_network: u32,
    /// `UNVERIFIED_MAIL_PER_HOUR`: most mails to addresses nobody has proven
    /// (verification links, unverified accounts' resets) the whole deployment sends in
    /// an hour (migration 0030); past it they wait, security notices and verified
    /// accounts' resets do not.
    pub unverified_mail_per_hour: u32,
    /// `UNVERIFIED_MAIL_PER_NETWORK`: most of them one network (an IPv4 /24, an IPv6
    /// /48) may cause in the hour (counted while `RATE_LIMITS` is on).
    pub unverified_mail_per_network: u32,
    /// Browser origins allowed to call the API (CORS); empty means none.
    pub cors_allowed_origins: Vec<String>,
    /// Rate limiting through the `*_LIMITER` bindings (on in production).
    pub rate_limits: bool,
    /// `NODE_OFFLINE_AFTER_SECONDS`: a node not seen for this long is reported OFFLINE to
    /// its organization and leaves the public directory (core::maintenance::liveness).
    pub node_offline_after_seconds: u32,
    /// `NODE_REMOVE_AFTER_DAYS`: a node not seen for this long is removed by the
    /// scheduled maintenance (leaving a tombstone).
    pub node_remove_after_days: u32,
    /// `UNVERIFIED_ACCOUNT_DAYS`: an account whose email was never verified is removed by
    /// the scheduled maintenance this long after its sign-up, once no verification or
    /// reset link was sent in the last day (with the organization only it belonged to,
    /// if nothing else holds it; core::maintenance).
    pub unverified_account_days: u32,
    /// `AUDIT_RETENTION_DAYS`: an organization's audit entries are deleted by the
    /// scheduled maintenance this long after the change they record; revoked keys no
    /// node names, and erased accounts no entry names any more, go with them
    /// (core::maintenance).
    pub audit_retention_days: u32,
    /// Enables test-only routes (e.g. `/__test/panic`). Off in production.
    pub test_hooks: bool,
    /// Simulated distance to D1 (test builds only; all zero otherwise).
    pub d1_simulation: D1Simulation,
    /// `NODE_SEEN_RESOLUTION_SECONDS`: how stale a node's stored last-seen may grow
    /// before an unchanged heartbeat writes it again (0: every heartbeat writes).
    /// docs/nodes.md, "Writes only on change".
    pub node_seen_resolution_seconds: u32,
    /// `REPLAY_NONCES`: where signed node requests' replay nonces are kept.
    pub replay_nonces: ReplayNonces,
    /// HS256 key for access and refresh tokens.
    pub jwt_secret: Secret,
    /// `JWT_SECRET_PREVIOUS`, set while rotating `JWT_SECRET`: tokens it signed are still
    /// accepted (never issued) until they expire, so a rotation signs nobody out.
    pub jwt_previous_secret: Option<Secret>,
    /// `NODE_ENV_KEY`: seals the organizations' service environments at rest
    /// (core::node_env::at_rest). Optional: without it `PUT …/node-env/{service}` and
    /// `POST /secrets` answer 500 (logged by name) and everything else works, listing
    /// and deleting environments included (neither opens one).
    pub node_env_key: Option<crate::node_env::at_rest::NodeEnvKey>,
    /// `NODE_ENV_KEY_PREVIOUS`, set while rotating `NODE_ENV_KEY`: rows sealed under it
    /// still open (nothing is sealed under it) until `gatehouse-cli admin
    /// node-env-reseal` has sealed them again under the new key.
    pub node_env_key_previous: Option<crate::node_env::at_rest::NodeEnvKey>,
}

/// Makes distance to D1 visible locally, where D1 is a millisecond away: each round
/// trip waits this long (a timer) before it runs. Read only with `TEST_HOOKS=on`, so a
/// stray setting can never slow production down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct D1Simulation {
    /// `D1_LATENCY_MS`: per round trip to the primary.
    pub primary_latency_ms: u32,
    /// `D1_REPLICA_LATENCY_MS`: per round trip that may be served by a read replica.
    pub replica_latency_ms: u32,
    /// `KV_LATENCY_MS`: per KV read of a replay nonce (a fresh nonce always misses
    /// the edge cache and goes to KV's central store).
    pub kv_latency_ms: u32,
    /// `D1_BASELINE=on`: every read on the primary and no cached node keys, i.e. the
    /// round trips of the release before read replicas (the benchmark's "before").
    pub baseline: bool,
}

/// Where `/register` looks for replays before D1 decides (SECURITY.md, "Threat model", Replay).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayNonces {
    /// A KV nonce per signature, read before any work and written after the answer
    /// (the default): a captured request is refused without D1 or RSA work.
    Kv,
    /// No KV: D1's strictly-newer timestamp alone refuses replays (one KV read and one
    /// KV write fewer per heartbeat; a replay then costs a D1 round trip to refuse).
    D1,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub name: &'static str,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration {}: {}", self.name, self.reason)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Builds the config from a lookup of `[vars]` and secrets by name.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let var = |name: &'static str, default: &str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let number = |name: &'static str, default: u32, min: u32, max: u32| {
            let raw = var(name, &default.to_string());
            match raw.trim().parse::<u32>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(ConfigError {
                    name,
                    reason: format!("expected a whole number from {min} to {max}, got {raw:?}"),
                }),
            }
        };

        let public_url = var("PUBLIC_URL", "http://127.0.0.1:8787")
            .trim_end_matches('/')
            .to_owned();
        if !(public_url.starts_with("https://") || public_url.starts_with("http://")) {
            return Err(ConfigError {
                name: "PUBLIC_URL",
                reason: "must start with http:// or https://".into(),
            });
        }
        let mail_from = var("MAIL_FROM", "no-reply@gatehouse.localhost");
        if !mail_from.contains('@') {
            return Err(ConfigError {
                name: "MAIL_FROM",
                reason: "must be an email address".into(),
            });
        }
        let kdf_name = var("PASSWORD_KDF", "pbkdf2-sha512");
        let password_kdf = KdfHash::parse(&kdf_name).ok_or_else(|| ConfigError {
            name: "PASSWORD_KDF",
            reason: format!("expected pbkdf2-sha256 or pbkdf2-sha512, got {kdf_name:?}"),
        })?;
        let switch = |name: &'static str, default: &str| match var(name, default).as_str() {
            "on" => Ok(true),
            "off" => Ok(false),
            other => Err(ConfigError {
                name,
                reason: format!("expected on or off, got {other:?}"),
            }),
        };
        let test_hooks = switch("TEST_HOOKS", "off")?;
        let rate_limits = switch("RATE_LIMITS", "on")?;
        // At least a minute (a few registration intervals is the sense of it), at most
        // 30 days; removal must come after a node was reported offline.
        let node_offline_after_seconds =
            number("NODE_OFFLINE_AFTER_SECONDS", 1800, 60, 30 * 24 * 3600)?;
        let node_remove_after_days = number("NODE_REMOVE_AFTER_DAYS", 30, 1, 3650)?;
        if u64::from(node_remove_after_days) * 86_400 <= u64::from(node_offline_after_seconds) {
            return Err(ConfigError {
                name: "NODE_REMOVE_AFTER_DAYS",
                reason: format!(
                    "{node_remove_after_days} days is not after NODE_OFFLINE_AFTER_SECONDS \
                     ({node_offline_after_seconds} s)"
                ),
            });
        }

        // Bounded by a day: a node seen once a day is not "live" by any measure. Below the
        // offline threshold: with writes only on change a live node's stored last-seen
        // lags its last heartbeat by up to the resolution (docs/nodes.md, "Writes only
        // on change"), and it must never look offline for that.
        let node_seen_resolution_seconds = number("NODE_SEEN_RESOLUTION_SECONDS", 600, 0, 86_400)?;
        if node_seen_resolution_seconds >= node_offline_after_seconds {
            return Err(ConfigError {
                name: "NODE_SEEN_RESOLUTION_SECONDS",
                reason: format!(
                    "{node_seen_resolution_seconds} s is not below NODE_OFFLINE_AFTER_SECONDS \
                     ({node_offline_after_seconds} s): a live node would be listed offline"
                ),
            });
        }

        // At least two days: a verification link lives one, and a person who asked for
        // one must be able to use it.
        let unverified_account_days = number("UNVERIFIED_ACCOUNT_DAYS", 30, 2, 3650)?;
        // At least 30 days: the day's change budget and a removal's hold read the last
        // day of it, and a trail shorter than a month answers no incident's questions.
        let audit_retention_days = number("AUDIT_RETENTION_DAYS", 400, 30, 36_500)?;

        Ok(Config {
            public_url,
            mail_from,
            timestamp_skew_seconds: number("TIMESTAMP_SKEW_SECONDS", 300, 1, 3600)?,
            password_kdf,
            // The lower bound only stops accidents; tests lower it, production keeps
            // the OWASP-2023 default (see docs/performance.md, "Password and secret
            // hashing").
            password_kdf_iterations: number("PASSWORD_KDF_ITERATIONS", 210_000, 1_000, 10_000_000)?,
            trial_days: number("TRIAL_DAYS", 14, 1, 365)?,
            // Bounded by what one /register may try (all of one organization's keys).
            org_keys_max: number(
                "ORGKEYS_MAX",
                5,
                1,
                crate::nodes::signed::MAX_CANDIDATE_KEYS as u32,
            )?,
            nodes_max: number("NODES_MAX", 10_000, 1, 10_000_000)?,
            node_secrets_max: number("NODE_SECRETS_MAX", 1_000_000, 1, 100_000_000)?,
            node_secrets_per_network: number("NODE_SECRETS_PER_NETWORK", 10_000, 1, 100_000_000)?,
            unverified_mail_per_hour: number("UNVERIFIED_MAIL_PER_HOUR", 500, 1, 10_000_000)?,
            unverified_mail_per_network: number("UNVERIFIED_MAIL_PER_NETWORK", 50, 1, 10_000_000)?,
            d1_simulation: if test_hooks {
                D1Simulation {
                    primary_latency_ms: number("D1_LATENCY_MS", 0, 0, 30_000)?,
                    replica_latency_ms: number("D1_REPLICA_LATENCY_MS", 0, 0, 10_000)?,
                    kv_latency_ms: number("KV_LATENCY_MS", 0, 0, 10_000)?,
                    baseline: switch("D1_BASELINE", "off")?,
                }
            } else {
                D1Simulation::default()
            },
            node_seen_resolution_seconds,
            replay_nonces: match var("REPLAY_NONCES", "kv").as_str() {
                "kv" => ReplayNonces::Kv,
                "d1" => ReplayNonces::D1,
                other => {
                    return Err(ConfigError {
                        name: "REPLAY_NONCES",
                        reason: format!("expected kv or d1, got {other:?}"),
                    })
                }
            },
            test_hooks,
            rate_limits,
            node_offline_after_seconds,
            node_remove_after_days,
            unverified_account_days,
            audit_retention_days,
            cors_allowed_origins: crate::http::cors::parse_origins(&var(
                "CORS_ALLOWED_ORIGINS",
                "",
            ))
            .map_err(|reason| ConfigError {
                name: "CORS_ALLOWED_ORIGINS",
                reason,
            })?,
            node_secret_policy: node_secret_policy(&lookup)?,
            jwt_secret: jwt_secret("JWT_SECRET", lookup("JWT_SECRET"))?,
            jwt_previous_secret: match lookup("JWT_SECRET_PREVIOUS") {
                Some(raw) if !raw.trim().is_empty() => {
                    Some(jwt_secret("JWT_SECRET_PREVIOUS", Some(raw))?)
                }
                _ => None,
            },
            node_env_key: node_env_key("NODE_ENV_KEY", &lookup)?,
            node_env_key_previous: node_env_key("NODE_ENV_KEY_PREVIOUS", &lookup)?,
        })
    }
}

/// A service environments' sealing key setting (`NODE_ENV_KEY`, `…_PREVIOUS`): unset or
/// empty is none.
fn node_env_key(
    name: &'static str,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<crate::node_env::at_rest::NodeEnvKey>, ConfigError> {
    match lookup(name) {
        Some(raw) if !raw.trim().is_empty() => crate::node_env::at_rest::NodeEnvKey::parse(&raw)
            .map(Some)
            .map_err(|reason| ConfigError { name, reason }),
        _ => Ok(None),
    }
}

/// `NODE_ID_{MIN,MAX}_LENGTH`, `NODE_SECRET_{MIN,MAX}_LENGTH`: unset or empty adds no
/// constraint (pydantic's `Field(min_length=…, max_length=…)` otherwise).
fn node_secret_policy(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<crate::node_secret::NodeSecretPolicy, ConfigError> {
    let limit = |name: &'static str| -> Result<Option<usize>, ConfigError> {
        match lookup(name).filter(|v| !v.trim().is_empty()) {
            None => Ok(None),
            Some(raw) => match raw.trim().parse::<usize>() {
                Ok(n) if n <= crate::MAX_BODY_BYTES => Ok(Some(n)),
                _ => Err(ConfigError {
                    name,
                    reason: format!(
                        "expected a whole number from 0 to {}, or nothing, got {raw:?}",
                        crate::MAX_BODY_BYTES
                    ),
                }),
            },
        }
    };
    let pair = |min_name, max_name| -> Result<(Option<usize>, Option<usize>), ConfigError> {
        let (min, max) = (limit(min_name)?, limit(max_name)?);
        if let (Some(lo), Some(hi)) = (min, max) {
            if lo > hi {
                return Err(ConfigError {
                    name: min_name,
                    reason: format!("{lo} is above {max_name} ({hi})"),
                });
            }
        }
        Ok((min, max))
    };
    let (node_id_min_length, node_id_max_length) =
        pair("NODE_ID_MIN_LENGTH", "NODE_ID_MAX_LENGTH")?;
    let (secret_min_length, secret_max_length) =
        pair("NODE_SECRET_MIN_LENGTH", "NODE_SECRET_MAX_LENGTH")?;
    Ok(crate::node_secret::NodeSecretPolicy {
        node_id_min_length,
        node_id_max_length,
        secret_min_length,
        secret_max_length,
    })
}

#[cfg(test)]
mod tests;
