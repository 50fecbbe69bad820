use super::*;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;

fn body(overrides: Value) -> Vec<u8> {
    let mut v = json!({
        "provider": "S3", "ip": "203.0.113.7", "status": "active", "region": "eu-west-1",
        "version": "1.4.2", "timestamp": "2024-01-15T10:30:00.000Z",
        "signature": STANDARD.encode([7u8; 256]),
    });
    for (k, val) in overrides.as_object().unwrap() {
        if val.is_null() {
            v.as_object_mut().unwrap().remove(k);
        } else {
            v[k] = val.clone();
        }
    }
    v.to_string().into_bytes()
}

fn message_of(overrides: Value) -> String {
    parse(&body(overrides)).unwrap_err().0
}

#[test]
fn canonical_message_is_the_documented_lines() {
    let reg = parse(&body(json!({}))).unwrap();
    assert_eq!(
        reg.fields.canonical_message(),
        "gatehouse-node-register-v1\nS3\n203.0.113.7\nactive\neu-west-1\n1.4.2\n2024-01-15T10:30:00.000Z\n"
    );
    assert_eq!(
        reg.messages().len(),
        1,
        "no installer form for an RFC 3339 timestamp"
    );
    let with_org = parse(&body(json!({"id_org": "org-1"}))).unwrap();
    assert!(with_org.fields.canonical_message().ends_with("\norg-1"));
}

#[test]
fn the_clients_form_signs_integer_digits_and_a_ninth_line() {
    let reg = parse(&body(
        json!({"timestamp": 1_705_314_600_123i64, "nodeServices": 5}),
    ))
    .unwrap();
    assert_eq!(
        reg.fields.canonical_message(),
        "gatehouse-node-register-v1\nS3\n203.0.113.7\nactive\neu-west-1\n1.4.2\n1705314600123\n\n5"
    );
    assert_eq!(reg.timestamp.ms, 1_705_314_600_123);
    assert_eq!(reg.node_services, 5);
    assert_eq!(
        reg.messages().len(),
        1,
        "milliseconds: not the installer's form"
    );
    assert_eq!(
        parse(&body(json!({}))).unwrap().node_services,
        DEFAULT_NODE_SERVICES
    );
    for bad in [json!(-1), json!(1.5), json!("1"), json!(1u64 << 40)] {
        assert!(message_of(json!({ "nodeServices": bad })).starts_with("Invalid nodeServices"));
    }
}

#[test]
fn the_installers_form() {
    let reg = parse(&body(json!({
        "provider": "AWS", "status": "running", "region": "eu-central-1",
        "timestamp": 1_705_314_600, "org_id": "org-9"
    })))
    .unwrap();
    assert_eq!(reg.provider, "S3");
    assert_eq!(reg.fields.id_org.as_deref(), Some("org-9"));
    assert_eq!(reg.timestamp.ms, 1_705_314_600_000);
    assert_eq!(reg.messages()[1], "203.0.113.7|eu-central-1|1705314600");
    // The v1 message signs every stored field; the installer's leaves status,
    // version, provider and services out, so it never goes unwritten.
    for field in ["AWS", "running", "eu-central-1"] {
        assert!(reg.messages()[0].contains(field), "{field}");
    }
    assert!(reg.signs_every_field(0) && reg.signs_org(0));
    assert!(!reg.signs_every_field(1) && !reg.signs_org(1));
    // Without id_org the v1 message signs every field but no organization.
    let unnamed = parse(&body(json!({"provider": "AWS"}))).unwrap();
    assert!(unnamed.signs_every_field(0) && !unnamed.signs_org(0));
    assert!(!reg.messages()[1].contains("running"));
    assert_eq!(
        parse(&body(json!({"provider": "GCP"}))).unwrap().provider,
        "GCS"
    );
    assert_eq!(
        parse(&body(json!({"provider": "AZURE"}))).unwrap().provider,
        "AZURE"
    );
}

#[test]
fn fields_are_signed_as_sent_but_nodes_keyed_canonically() {
    let reg = parse(&body(json!({"ip": "2001:DB8:0::1"}))).unwrap();
    assert!(reg.fields.canonical_message().contains("\n2001:DB8:0::1\n"));
    assert_eq!(reg.node_ip, "2001:db8::1");
}

#[test]
fn every_missing_or_mistyped_required_field_is_reported() {
    for field in [
        "ip",
        "status",
        "region",
        "version",
        "timestamp",
        "signature",
    ] {
        for missing in [json!(null), json!(true)] {
            let message = message_of(json!({ field: missing }));
            assert!(
                message.starts_with(&format!("Missing required fields: {field} (")),
                "{field} {missing}: {message}"
            );
        }
    }
    assert_eq!(
        parse(b"[]").unwrap_err().0,
        "Missing required fields: ip (a string), status (a string), region (a string), \
         version (a string), timestamp (RFC 3339 text or an integer), signature (a string)"
    );
    assert_eq!(parse(b"{").unwrap_err().0, "Invalid JSON body");
}

#[test]
fn a_node_without_a_provider_serves_all_three() {
    let reg = parse(&body(json!({"provider": null, "timestamp": 1_705_314_600}))).unwrap();
    assert_eq!(reg.provider, UNKNOWN_PROVIDER);
    assert!(reg
        .fields
        .canonical_message()
        .starts_with("gatehouse-node-register-v1\n\n203.0.113.7\n"));
    assert_eq!(reg.messages()[1], "203.0.113.7|eu-west-1|1705314600");
    assert!(message_of(json!({"provider": 7})).starts_with("Invalid provider"));
    assert!(message_of(json!({"provider": ""})).starts_with("Invalid provider"));
}

#[test]
fn each_field_is_validated() {
    assert!(message_of(json!({"provider": "s3"})).starts_with("Invalid provider"));
    assert!(message_of(json!({"provider": "DROPBOX"})).starts_with("Invalid provider"));
    assert!(message_of(json!({"ip": "300.1.1.1"})).starts_with("Invalid ip"));
    assert!(message_of(json!({"status": "act ive"})).starts_with("Invalid status"));
    assert!(message_of(json!({"region": ""})).starts_with("Invalid region"));
    assert!(message_of(json!({"version": "x".repeat(65)})).starts_with("Invalid version"));
    assert!(message_of(json!({"timestamp": "yesterday"})).starts_with("Invalid timestamp"));
    assert!(
        message_of(json!({"signature": "not base64!"})).starts_with("Invalid signature encoding")
    );
    assert_eq!(
        message_of(json!({"signature": "AAAA"})),
        "Invalid signature"
    );
    assert!(message_of(json!({"id_org": 7})).starts_with("Invalid id_org"));
    for status in [
        "active",
        "inactive",
        "ONLINE",
        "OFFLINE",
        "DISCONNECTED",
        "running",
    ] {
        assert!(
            parse(&body(json!({ "status": status }))).is_ok(),
            "{status}"
        );
    }
}

/// Published fields hold what real nodes send, and nothing a reader of the
/// directory could take for markup, a lookup or a change of direction.
#[test]
fn published_fields_are_words_of_a_safe_alphabet() {
    for (field, good) in [
        ("region", "eu-central-1"),
        ("region", "europe-west1"),
        ("region", "us_east.2"),
        ("version", "0.0.28"),
        ("version", "1.4.2-rc.1+build.7"),
        ("status", "running"),
    ] {
        assert!(
            parse(&body(json!({ field: good }))).is_ok(),
            "{field} {good}"
        );
    }
    for field in ["region", "version", "status"] {
        for bad in [
            "<img src=x onerror=alert(1)>",
            "${jndi:ldap://x/a}",
            "eu\u{202e}1",
            "eu central",
            "région",
            "a/b",
            "",
        ] {
            assert!(
                message_of(json!({ field: bad })).starts_with(&format!("Invalid {field}: 1 to")),
                "{field} {bad:?}"
            );
        }
    }
    assert!(message_of(json!({"region": "r".repeat(65)})).starts_with("Invalid region"));
    assert!(message_of(json!({"version": "1.0+x".repeat(13)})).starts_with("Invalid version"));
}

#[test]
fn control_characters_cannot_shift_lines() {
    assert!(message_of(json!({"region": "eu\nS3"})).starts_with("Invalid region"));
    assert!(message_of(json!({"id_org": "a\u{0}"})).contains("control characters"));
    assert!(message_of(json!({"timestamp": "2024\n"})).contains("control characters"));
}
