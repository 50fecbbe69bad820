//! Reading the configuration: defaults, every setting, and what is refused.
use super::*;
use std::collections::HashMap;

#[test]
fn a_previous_jwt_secret_is_optional_and_as_strong_as_the_current_one() {
    let c = config(&[("JWT_SECRET", GOOD_SECRET)]).unwrap();
    assert!(c.jwt_previous_secret.is_none());
    let previous = "0123456789abcdef0123456789abcdefXYZ";
    let c = config(&[
        ("JWT_SECRET", GOOD_SECRET),
        ("JWT_SECRET_PREVIOUS", previous),
    ])
    .unwrap();
    assert_eq!(c.jwt_previous_secret.unwrap().expose(), previous.as_bytes());
    let err = config(&[
        ("JWT_SECRET", GOOD_SECRET),
        ("JWT_SECRET_PREVIOUS", "short"),
    ])
    .unwrap_err();
    assert_eq!(err.name, "JWT_SECRET_PREVIOUS");
}

const GOOD_SECRET: &str = "5f0c8a1e9b7d4c3a2f6e8d0b1a9c7e5f3d2b4a6c8e0f1d3b5a7c9e2f4d6b8a0c";

fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|name| map.get(name).cloned())
}

#[test]
fn defaults_apply_when_only_the_secret_is_set() {
    let c = config(&[("JWT_SECRET", GOOD_SECRET)]).unwrap();
    assert_eq!(c.timestamp_skew_seconds, 300);
    assert_eq!(c.password_kdf, KdfHash::Sha512);
    assert_eq!(c.password_kdf_iterations, 210_000);
    assert_eq!(c.trial_days, 14);
    assert_eq!(c.org_keys_max, 5);
    assert!(!c.test_hooks);
    assert_eq!(c.node_offline_after_seconds, 1800);
    assert_eq!(c.node_remove_after_days, 30);
    assert_eq!(c.unverified_account_days, 30);
    assert_eq!(c.audit_retention_days, 400);
}

#[test]
fn the_audit_trail_is_kept_at_least_a_month() {
    let with = |days: &str| config(&[("JWT_SECRET", GOOD_SECRET), ("AUDIT_RETENTION_DAYS", days)]);
    assert_eq!(with("30").unwrap().audit_retention_days, 30);
    assert_eq!(with("36500").unwrap().audit_retention_days, 36_500);
    for refused in ["29", "0", "36501", "forever"] {
        assert_eq!(
            with(refused).unwrap_err().name,
            "AUDIT_RETENTION_DAYS",
            "{refused}"
        );
    }
}

#[test]
fn unverified_accounts_outlive_their_verification_link() {
    let with = |days: &str| {
        config(&[
            ("JWT_SECRET", GOOD_SECRET),
            ("UNVERIFIED_ACCOUNT_DAYS", days),
        ])
    };
    assert_eq!(with("2").unwrap().unverified_account_days, 2);
    for refused in ["1", "0", "3651", "soon"] {
        assert_eq!(
            with(refused).unwrap_err().name,
            "UNVERIFIED_ACCOUNT_DAYS",
            "{refused}"
        );
    }
}

#[test]
fn node_removal_must_come_after_a_node_is_offline() {
    let with = |offline: &str, remove: &str| {
        config(&[
            ("JWT_SECRET", GOOD_SECRET),
            ("NODE_OFFLINE_AFTER_SECONDS", offline),
            ("NODE_REMOVE_AFTER_DAYS", remove),
        ])
    };
    let c = with("3600", "2").unwrap();
    assert_eq!(
        (c.node_offline_after_seconds, c.node_remove_after_days),
        (3600, 2)
    );
    assert_eq!(
        with("86400", "1").unwrap_err().name,
        "NODE_REMOVE_AFTER_DAYS"
    );
    assert_eq!(
        with("59", "30").unwrap_err().name,
        "NODE_OFFLINE_AFTER_SECONDS"
    );
    assert_eq!(
        with("1800", "0").unwrap_err().name,
        "NODE_REMOVE_AFTER_DAYS"
    );
}

#[test]
fn vars_override_defaults() {
    let c = config(&[
        ("JWT_SECRET", GOOD_SECRET),
        ("PUBLIC_URL", "https://gate.example.com/"),
        ("TIMESTAMP_SKEW_SECONDS", "60"),
        ("PASSWORD_KDF", "pbkdf2-sha256"),
        ("PASSWORD_KDF_ITERATIONS", "600000"),
        ("TEST_HOOKS", "on"),
    ])
    .unwrap();
    assert_eq!(c.public_url, "https://gate.example.com");
    assert_eq!(c.timestamp_skew_seconds, 60);
    assert_eq!(c.password_kdf, KdfHash::Sha256);
    assert_eq!(c.password_kdf_iterations, 600_000);
    assert!(c.test_hooks);
}

#[test]
fn simulated_d1_distance_is_read_only_with_test_hooks() {
    let distance = [
        ("JWT_SECRET", GOOD_SECRET),
        ("D1_LATENCY_MS", "150"),
        ("D1_REPLICA_LATENCY_MS", "5"),
        ("D1_BASELINE", "on"),
        ("KV_LATENCY_MS", "40"),
    ];
    assert_eq!(
        config(&distance).unwrap().d1_simulation,
        D1Simulation::default()
    );
    let mut hooks = distance.to_vec();
    hooks.push(("TEST_HOOKS", "on"));
    let sim = config(&hooks).unwrap().d1_simulation;
    assert_eq!(
        sim,
        D1Simulation {
            primary_latency_ms: 150,
            replica_latency_ms: 5,
            kv_latency_ms: 40,
            baseline: true
        }
    );
    let bad = [
        ("JWT_SECRET", GOOD_SECRET),
        ("TEST_HOOKS", "on"),
        ("D1_LATENCY_MS", "slow"),
    ];
    assert_eq!(config(&bad).unwrap_err().name, "D1_LATENCY_MS");
}

#[test]
fn missing_or_weak_secret_is_an_error_naming_the_variable() {
    for pairs in [
        vec![],
        vec![("JWT_SECRET", "short")],
        vec![("JWT_SECRET", &"a".repeat(64)[..])],
    ] {
        let err = config(&pairs).unwrap_err();
        assert_eq!(err.name, "JWT_SECRET");
    }
}

#[test]
fn bad_numbers_and_names_are_errors() {
    for (name, value) in [
        ("TIMESTAMP_SKEW_SECONDS", "-1"),
        ("TIMESTAMP_SKEW_SECONDS", "5m"),
        ("PASSWORD_KDF_ITERATIONS", "10"),
        ("PASSWORD_KDF", "md5"),
        ("PUBLIC_URL", "gate.example.com"),
        ("TEST_HOOKS", "yes"),
    ] {
        let err = config(&[("JWT_SECRET", GOOD_SECRET), (name, value)]).unwrap_err();
        assert_eq!(err.name, name);
    }
}

#[test]
fn node_secret_limits_are_unset_by_default_and_checked_when_set() {
    let with = |pairs: &[(&str, &str)]| {
        let mut pairs = pairs.to_vec();
        pairs.push(("JWT_SECRET", GOOD_SECRET));
        config(&pairs)
    };
    assert_eq!(
        with(&[]).unwrap().node_secret_policy,
        crate::node_secret::NodeSecretPolicy::default()
    );
    let set = with(&[
        ("NODE_SECRET_MIN_LENGTH", "16"),
        ("NODE_ID_MAX_LENGTH", "128"),
    ])
    .unwrap()
    .node_secret_policy;
    assert_eq!(
        (
            set.secret_min_length,
            set.node_id_max_length,
            set.secret_max_length
        ),
        (Some(16), Some(128), None)
    );
    for bad in [
        vec![("NODE_SECRET_MIN_LENGTH", "x")],
        vec![("NODE_ID_MAX_LENGTH", "-1")],
        vec![
            ("NODE_SECRET_MIN_LENGTH", "20"),
            ("NODE_SECRET_MAX_LENGTH", "10"),
        ],
    ] {
        assert!(with(&bad).is_err(), "{bad:?}");
    }
}

#[test]
fn debug_output_never_shows_the_secret() {
    let c = config(&[("JWT_SECRET", GOOD_SECRET)]).unwrap();
    assert!(!format!("{c:?}").contains(GOOD_SECRET));
}

#[test]
fn writes_on_change_and_replay_nonces_have_documented_defaults() {
    let c = config(&[("JWT_SECRET", GOOD_SECRET)]).unwrap();
    assert_eq!(c.node_seen_resolution_seconds, 600);
    assert_eq!(c.replay_nonces, ReplayNonces::Kv);
    let c = config(&[
        ("JWT_SECRET", GOOD_SECRET),
        ("NODE_SEEN_RESOLUTION_SECONDS", "0"),
        ("REPLAY_NONCES", "d1"),
    ])
    .unwrap();
    assert_eq!(c.node_seen_resolution_seconds, 0);
    assert_eq!(c.replay_nonces, ReplayNonces::D1);
    for (name, bad) in [
        ("REPLAY_NONCES", "none"),
        ("NODE_SEEN_RESOLUTION_SECONDS", "86401"),
    ] {
        let err = config(&[("JWT_SECRET", GOOD_SECRET), (name, bad)]).unwrap_err();
        assert_eq!(err.name, name);
    }
}

#[test]
fn node_env_key_is_optional_and_checked_when_set() {
    assert!(config(&[("JWT_SECRET", GOOD_SECRET)])
        .unwrap()
        .node_env_key
        .is_none());
    assert!(
        config(&[("JWT_SECRET", GOOD_SECRET), ("NODE_ENV_KEY", " ")])
            .unwrap()
            .node_env_key
            .is_none()
    );
    let hex: String = (0..32u8).map(|i| format!("{:02x}", i * 7)).collect();
    let set = config(&[("JWT_SECRET", GOOD_SECRET), ("NODE_ENV_KEY", &hex)]).unwrap();
    assert!(set.node_env_key.is_some());
    assert!(!format!("{set:?}").contains(&hex), "never printed");
    for bad in ["abc", &"00".repeat(32)[..]] {
        let err = config(&[("JWT_SECRET", GOOD_SECRET), ("NODE_ENV_KEY", bad)]).unwrap_err();
        assert_eq!(err.name, "NODE_ENV_KEY");
        let err = config(&[
            ("JWT_SECRET", GOOD_SECRET),
            ("NODE_ENV_KEY", &hex),
            ("NODE_ENV_KEY_PREVIOUS", bad),
        ])
        .unwrap_err();
        assert_eq!(err.name, "NODE_ENV_KEY_PREVIOUS");
    }
    assert!(set.node_env_key_previous.is_none());
    let previous: String = (0..32u8).map(|i| format!("{:02x}", i * 5 + 1)).collect();
    let rotating = config(&[
        ("JWT_SECRET", GOOD_SECRET),
        ("NODE_ENV_KEY", &hex),
        ("NODE_ENV_KEY_PREVIOUS", &previous),
    ]);
    assert!(rotating.unwrap().node_env_key_previous.is_some());
}

#[test]
fn the_seen_resolution_must_stay_below_the_offline_threshold() {
    let err = config(&[
        ("JWT_SECRET", GOOD_SECRET),
        ("NODE_OFFLINE_AFTER_SECONDS", "600"),
        ("NODE_SEEN_RESOLUTION_SECONDS", "600"),
    ])
    .unwrap_err();
    assert_eq!(err.name, "NODE_SEEN_RESOLUTION_SECONDS");
    assert!(
        err.reason.contains("would be listed offline"),
        "{}",
        err.reason
    );
    let ok = config(&[
        ("JWT_SECRET", GOOD_SECRET),
        ("NODE_OFFLINE_AFTER_SECONDS", "600"),
        ("NODE_SEEN_RESOLUTION_SECONDS", "599"),
    ])
    .unwrap();
    assert_eq!(ok.node_seen_resolution_seconds, 599);
}
