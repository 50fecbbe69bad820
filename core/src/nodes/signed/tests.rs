use super::*;
use serde_json::json;

#[test]
fn timestamps_in_every_accepted_form() {
    let t = |v: Value| timestamp(&json!({ "timestamp": v })).unwrap();
    assert_eq!(
        t(json!("2024-01-15T10:30:00.000Z")).unwrap(),
        Timestamp {
            text: "2024-01-15T10:30:00.000Z".into(),
            ms: 1_705_314_600_000,
            unix_seconds: false
        }
    );
    assert_eq!(
        t(json!(1_705_314_600)).unwrap(),
        Timestamp {
            text: "1705314600".into(),
            ms: 1_705_314_600_000,
            unix_seconds: true
        }
    );
    assert_eq!(
        t(json!(1_705_314_600_123i64)).unwrap(),
        Timestamp {
            text: "1705314600123".into(),
            ms: 1_705_314_600_123,
            unix_seconds: false
        }
    );
    for bad in [json!("yesterday"), json!(1.5), json!(-1), json!(1e300)] {
        assert!(
            t(bad.clone())
                .unwrap_err()
                .0
                .starts_with("Invalid timestamp"),
            "{bad}"
        );
    }
    assert!(timestamp(&json!({})).is_none());
    assert!(timestamp(&json!({"timestamp": true})).is_none());
}

#[test]
fn the_org_field_in_either_spelling() {
    assert_eq!(named_org(&json!({"id_org": "a"})), Ok(Some("a".into())));
    assert_eq!(named_org(&json!({"org_id": "a"})), Ok(Some("a".into())));
    assert_eq!(
        named_org(&json!({"id_org": "", "org_id": "a"})),
        Ok(Some("a".into()))
    );
    assert_eq!(
        named_org(&json!({"id_org": "a", "org_id": "a"})),
        Ok(Some("a".into()))
    );
    assert_eq!(named_org(&json!({"id_org": ""})), Ok(None));
    assert!(named_org(&json!({"id_org": "a", "org_id": "b"})).is_err());
    assert!(named_org(&json!({"id_org": 7})).is_err());
    assert!(named_org(&json!({"org_id": "a\nb"}))
        .unwrap_err()
        .0
        .contains("control"));
}

#[test]
fn the_installer_form_needs_unix_seconds() {
    let secs = timestamp(&json!({"timestamp": 1_705_314_600}))
        .unwrap()
        .unwrap();
    assert_eq!(
        installer_message("203.0.113.9", "eu-central-1", &secs).as_deref(),
        Some("203.0.113.9|eu-central-1|1705314600")
    );
    let rfc = timestamp(&json!({"timestamp": "2024-01-15T10:30:00Z"}))
        .unwrap()
        .unwrap();
    assert_eq!(installer_message("203.0.113.9", "r", &rfc), None);
}

#[test]
fn mapped_addresses_fold_and_unreachable_ones_are_refused() {
    assert_eq!(node_identity("::ffff:203.0.113.9").unwrap(), "203.0.113.9");
    assert_eq!(node_identity("::FFFF:cb00:7109").unwrap(), "203.0.113.9");
    assert_eq!(node_identity("192.168.1.100").unwrap(), "192.168.1.100");
    assert_eq!(node_identity("10.0.0.1").unwrap(), "10.0.0.1");
    assert_eq!(node_identity("fd00::1").unwrap(), "fd00::1");
    assert_eq!(node_identity("2001:DB8:0::1").unwrap(), "2001:db8::1");
    for bad in [
        "0.0.0.0",
        "0.1.2.3",
        "127.0.0.1",
        "127.8.8.8",
        "169.254.1.1",
        "224.0.0.1",
        "239.255.255.250",
        "255.255.255.255",
        "::",
        "::1",
        "fe80::1",
        "febf::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.0.1",
    ] {
        assert!(
            node_identity(bad)
                .unwrap_err()
                .0
                .starts_with("Invalid ip: unspecified"),
            "{bad}"
        );
    }
    assert!(node_identity("example.com")
        .unwrap_err()
        .0
        .starts_with("Invalid ip"));
}

/// One host, one node: every IPv6 form that embeds one IPv4 host folds to it, and
/// the IPv4 rules then apply; relays are refused.
#[test]
fn every_form_of_one_ipv4_host_is_one_node() {
    let host = "203.0.113.9";
    for form in [
        "203.0.113.9",
        "::ffff:203.0.113.9",
        "::ffff:cb00:7109",
        "::ffff:0:203.0.113.9",
        "::203.0.113.9",
        "::cb00:7109",
        "64:ff9b::203.0.113.9",
        "64:FF9B::cb00:7109",
    ] {
        assert_eq!(node_identity(form).as_deref(), Ok(host), "{form}");
    }
    for loopback in [
        "::7f00:1",
        "::127.0.0.1",
        "::ffff:0:127.0.0.1",
        "64:ff9b::127.0.0.1",
    ] {
        assert!(
            node_identity(loopback)
                .unwrap_err()
                .0
                .starts_with("Invalid ip: unspecified, loopback"),
            "{loopback}"
        );
    }
    for reserved in ["240.0.0.1", "250.1.2.3", "::ffff:240.0.0.1", "::f000:1"] {
        assert!(
            node_identity(reserved).unwrap_err().0.contains("reserved"),
            "{reserved}"
        );
    }
    for relay in [
        "2002:cb00:7109::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        "64:ff9b:1::cb00:7109",
    ] {
        assert!(
            node_identity(relay).unwrap_err().0.contains("6to4, Teredo"),
            "{relay}"
        );
    }
    // Ordinary IPv6, including documentation space, is its own node.
    assert_eq!(
        node_identity("2001:db8::cb00:7109").unwrap(),
        "2001:db8::cb00:7109"
    );
    assert_eq!(node_identity("2001:4860::1").unwrap(), "2001:4860::1");
}

#[test]
fn candidates_are_the_named_organization_or_where_the_address_is_registered() {
    assert!(Candidates::of(Some("a")).admits("a"));
    assert!(!Candidates::of(Some("a")).admits("b"));
    assert!(Candidates::of(None).admits("b"));
    assert_eq!(Candidates::of(Some("a")).refusal(), INVALID_SIGNATURE);
    assert!(Candidates::of(None).refusal().contains("id_org"));
}

#[test]
fn signatures_are_base64_with_optional_padding() {
    let sig = STANDARD.encode([1u8; 256]);
    assert!(sig.ends_with('='));
    assert_eq!(
        decode_signature(sig.trim_end_matches('=')).unwrap(),
        vec![1u8; 256]
    );
    assert_eq!(decode_signature(&sig).unwrap(), vec![1u8; 256]);
    assert_eq!(decode_signature("AAAA").unwrap_err().0, "Invalid signature");
    assert!(decode_signature("not base64!")
        .unwrap_err()
        .0
        .starts_with("Invalid signature encoding"));
}

#[test]
fn freshness_window_is_inclusive_and_symmetric() {
    let t = 1_705_314_600_000;
    assert!(check_freshness(t, t + 300_000, 300).is_ok());
    assert!(check_freshness(t, t - 300_000, 300).is_ok());
    assert_eq!(
        check_freshness(t, t + 300_001, 300).unwrap_err().0,
        "Timestamp outside the allowed window of ±300 seconds: the request says \
         2024-01-15T10:30:00.000Z, the server's time is 2024-01-15T10:35:00.001Z",
        "stale"
    );
    assert!(check_freshness(t, t - 300_001, 300).is_err(), "future");
}

#[test]
fn nonces_depend_on_the_signature_only() {
    assert_eq!(nonce_key(b"sig"), nonce_key(b"sig"));
    assert_ne!(nonce_key(b"sig"), nonce_key(b"sih"));
    assert_eq!(nonce_ttl_seconds(300), 660);
}
