//! POST /register end to end: signatures, validation, freshness, replays, keys.
//!
//! All on one shared worker: each test has organizations and node addresses of its
//! own, and counts only those.

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::nodes::{body, fields, now_ms, seed_org, signed};
use gatehouse_e2e::{shared_app, TestResponse};
use serde_json::{json, Value};

fn assert_refused(res: &TestResponse, message_start: &str) {
    assert_eq!(res.status, 400, "{}", res.body);
    assert_eq!(res.json()["success"], false);
    let message = res.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with(message_start),
        "{message:?} should start with {message_start:?}"
    );
}

#[test]
fn registers_associates_the_key_and_updates_on_re_registration() {
    let app = shared_app();
    let key = seed_org(app, "org-assoc", 2048);
    let t = now_ms();
    let res = app.post_json(
        "/register",
        &signed(&key, &fields("203.0.113.7", t, Some("org-assoc"))),
    );
    assert_eq!(
        (res.status, res.json()),
        (
            200,
            json!({"success": true, "message": "Registration successful"})
        )
    );

    // Once registered, a node may leave id_org out (the seed's form).
    let mut update = fields("203.0.113.7", t + 1000, None);
    update.status = "inactive".into();
    update.version = "1.5.0".into();
    assert_eq!(
        app.post_json("/register", &signed(&key, &update)).status,
        200
    );

    let rows = app.d1_query(
        "SELECT ip, provider, status, version, org_id, key_id, last_signed_at_ms FROM nodes \
         WHERE ip = '203.0.113.7' OR org_id = 'org-assoc'",
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "inactive");
    assert_eq!(rows[0]["version"], "1.5.0");
    assert_eq!(
        (rows[0]["org_id"].as_str(), rows[0]["key_id"].as_str()),
        (Some("org-assoc"), Some("org-assoc-key"))
    );
    assert_eq!(rows[0]["last_signed_at_ms"], t + 1000);
}

#[test]
fn the_same_body_twice_is_a_replay_and_so_is_an_older_one() {
    let app = shared_app();
    let key = seed_org(app, "org-r", 2048);
    let t = now_ms();
    let first = signed(&key, &fields("198.51.100.1", t, Some("org-r")));
    assert_eq!(app.post_json("/register", &first).status, 200);
    assert_refused(&app.post_json("/register", &first), "Replay detected");
    // Fresh signature, but older than the accepted one: refused by D1's ordering.
    assert_refused(
        &app.post_json(
            "/register",
            &signed(&key, &fields("198.51.100.1", t - 1, None)),
        ),
        "Replay detected",
    );
}

#[test]
fn forged_tampered_and_foreign_signatures_are_refused_alike() {
    let app = shared_app();
    let key_a = seed_org(app, "org-a", 2048);
    let key_b = seed_org(app, "org-b", 3072);
    let t = now_ms();

    // Signed by org B's key but claiming org A.
    assert_refused(
        &app.post_json(
            "/register",
            &signed(&key_b, &fields("192.0.2.1", t, Some("org-a"))),
        ),
        "Invalid signature",
    );
    // A field changed after signing.
    let mut tampered = signed(&key_a, &fields("192.0.2.2", t, Some("org-a")));
    tampered["region"] = json!("us-east-1");
    assert_refused(&app.post_json("/register", &tampered), "Invalid signature");
    // A key nobody registered.
    let stranger = PrivateKey::generate(2048).unwrap();
    assert_refused(
        &app.post_json(
            "/register",
            &signed(&stranger, &fields("192.0.2.3", t, Some("org-a"))),
        ),
        "Invalid signature",
    );
    // Unknown organization: the same answer as a bad signature (nothing is learnt
    // about which organizations exist before a key verifies).
    assert_refused(
        &app.post_json(
            "/register",
            &signed(&key_a, &fields("192.0.2.4", t, Some("nope"))),
        ),
        "Invalid signature",
    );
    // Org B's 3072-bit key works for its own nodes; once registered, id_org is optional.
    assert_eq!(
        app.post_json(
            "/register",
            &signed(&key_b, &fields("192.0.2.5", t, Some("org-b")))
        )
        .status,
        200
    );
    assert_eq!(
        app.post_json(
            "/register",
            &signed(&key_b, &fields("192.0.2.5", t + 1, None))
        )
        .status,
        200
    );
    // A first registration must name its organization.
    assert_refused(
        &app.post_json("/register", &signed(&key_b, &fields("192.0.2.6", t, None))),
        "Invalid signature (a node's first registration must also name its organization",
    );
    // …and org B cannot take over org A's node: naming itself, B registers its own node
    // at that address; naming nobody, only A's node's key could verify.
    assert_eq!(
        app.post_json(
            "/register",
            &signed(&key_a, &fields("192.0.2.7", t, Some("org-a")))
        )
        .status,
        200
    );
    assert_refused(
        &app.post_json(
            "/register",
            &signed(&key_b, &fields("192.0.2.7", t + 2, None)),
        ),
        "Invalid signature",
    );
    assert_eq!(
        app.post_json(
            "/register",
            &signed(&key_b, &fields("192.0.2.7", t + 3, Some("org-b"))),
        )
        .status,
        200
    );
    let owners = app.d1_query("SELECT org_id FROM nodes WHERE ip = '192.0.2.7' ORDER BY org_id");
    assert_eq!(
        owners,
        vec![json!({"org_id": "org-a"}), json!({"org_id": "org-b"})]
    );
    // Every request above named one of these addresses or organizations.
    let ours = "SELECT count(*) AS n FROM nodes WHERE org_id IN ('org-a', 'org-b', 'nope') \
                OR ip IN ('192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5', \
                '192.0.2.6', '192.0.2.7')";
    assert_eq!(app.d1_query(ours)[0]["n"], 3);
}

#[test]
fn revoked_keys_and_banned_organizations_no_longer_verify() {
    let app = shared_app();
    let key = seed_org(app, "org-x", 2048);
    let t = now_ms();
    assert_eq!(
        app.post_json(
            "/register",
            &signed(&key, &fields("192.0.2.10", t, Some("org-x")))
        )
        .status,
        200
    );
    app.d1_query("UPDATE org_keys SET revoked_at_ms = 1 WHERE id = 'org-x-key'");
    assert_refused(
        &app.post_json(
            "/register",
            &signed(&key, &fields("192.0.2.10", t + 1, None)),
        ),
        "Invalid signature",
    );
    let key2 = seed_org(app, "org-y", 2048);
    app.d1_query("UPDATE organizations SET banned = 1 WHERE id = 'org-y'");
    assert_refused(
        &app.post_json(
            "/register",
            &signed(&key2, &fields("192.0.2.11", t, Some("org-y"))),
        ),
        "Unknown or banned organization",
    );
    assert_refused(
        &app.post_json("/register", &signed(&key2, &fields("192.0.2.11", t, None))),
        "Invalid signature (a node's first registration must also name its organization",
    );
    // A node this worker has verified (its warm path: one round trip) answers as the
    // cold path reads: a ban is the ban; a revoked key, in a banned organization or
    // not, verifies nothing (the warm write, then the cold path's read).
    let key3 = seed_org(app, "org-z", 2048);
    let at = |t| signed(&key3, &fields("192.0.2.12", t, Some("org-z")));
    assert_eq!(app.post_json("/register", &at(t)).status, 200);
    app.d1_query("UPDATE organizations SET banned = 1 WHERE id = 'org-z'");
    let banned = app.post_json("/register", &at(t + 1));
    assert_refused(&banned, "Unknown or banned organization");
    assert_eq!(banned.d1_round_trips(), (1, 1), "the warm path's one write");
    app.d1_query("UPDATE org_keys SET revoked_at_ms = 1 WHERE id = 'org-z-key'");
    let revoked = app.post_json("/register", &at(t + 2));
    assert_refused(&revoked, "Invalid signature");
    assert_eq!(
        revoked.d1_round_trips(),
        (2, 2),
        "the warm write, then the cold read"
    );
}

#[test]
fn every_invalid_field_gets_a_clear_400() {
    let app = shared_app();
    let key = seed_org(app, "org-v", 2048);
    let t = now_ms();
    let valid = signed(&key, &fields("192.0.2.20", t, Some("org-v")));
    for field in [
        "ip",
        "status",
        "region",
        "version",
        "timestamp",
        "signature",
    ] {
        let mut b = valid.clone();
        b.as_object_mut().unwrap().remove(field);
        assert_refused(
            &app.post_json("/register", &b),
            &format!("Missing required fields: {field} ("),
        );
        // A number is a valid timestamp (Unix seconds or milliseconds); a bool is not.
        b[field] = if field == "timestamp" {
            json!(true)
        } else {
            json!(42)
        };
        assert_refused(&app.post_json("/register", &b), "Missing required fields");
    }
    let with = |field: &str, value: Value| {
        let mut b = valid.clone();
        b[field] = value;
        b
    };
    assert_refused(
        &app.post_json("/register", &with("provider", json!("DROPBOX"))),
        "Invalid provider",
    );
    assert_refused(
        &app.post_json("/register", &with("ip", json!("999.1.2.3"))),
        "Invalid ip",
    );
    assert_refused(
        &app.post_json("/register", &with("signature", json!("%%%not-base64%%%"))),
        "Invalid signature encoding",
    );
    assert_refused(
        &app.post_json("/register", &with("region", json!("eu\nS3"))),
        "Invalid region: 1 to 64 letters, digits or '-', '_', '.'",
    );
    assert_refused(
        &app.post_json("/register", &with("timestamp", json!("15/01/2024"))),
        "Invalid timestamp",
    );
    // Fresh clock and a minute beyond the 300 s window on either side: the exact
    // boundary is unit-tested in core (check_freshness); here a slow runner must not
    // carry a "future" timestamp back inside the window while the test runs.
    let outside = 300_000 + 60_000;
    let stale = signed(&key, &fields("192.0.2.20", now_ms() - outside, None));
    assert_refused(
        &app.post_json("/register", &stale),
        "Timestamp outside the allowed window",
    );
    let future = signed(&key, &fields("192.0.2.20", now_ms() + outside, None));
    assert_refused(
        &app.post_json("/register", &future),
        "Timestamp outside the allowed window",
    );
    let res = app.request(
        "POST",
        "/register",
        &[("content-type", "application/json")],
        Some(b"{not json"),
    );
    assert_refused(&res, "Invalid JSON body");
    assert_eq!(
        app.d1_query(
            "SELECT count(*) AS n FROM nodes \
             WHERE org_id = 'org-v' OR ip IN ('192.0.2.20', '999.1.2.3')"
        )[0]["n"],
        0,
        "nothing was written"
    );
}

#[test]
fn a_signature_made_by_the_openssl_cli_is_accepted() {
    let app = shared_app();
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("node.key.pem");
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let key = key_path.to_str().unwrap();
    run(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        key,
    ]);
    let public_pem = String::from_utf8(run(&["pkey", "-in", key, "-pubout"])).unwrap();
    app.seed_org_key("org-o", "k-o", &public_pem, 2048);
    let f = fields("2001:db8::42", now_ms(), Some("org-o"));
    let message_path = dir.path().join("message.txt");
    std::fs::write(&message_path, f.canonical_message()).unwrap();
    let signature = run(&[
        "dgst",
        "-sha256",
        "-sign",
        key,
        message_path.to_str().unwrap(),
    ]);
    let res = app.post_json("/register", &body(&f, &signature));
    assert_eq!(res.status, 200, "{}", res.body);
}

#[test]
fn storage_refuses_keys_under_2048_bits() {
    let app = shared_app();
    app.d1_query("INSERT INTO organizations (id, name, created_at_ms) VALUES ('org-s', 'S', 0)");
    let refused = app.d1_execute(
        "INSERT INTO org_keys (id, org_id, public_key_pem, bits, created_at_ms) VALUES ('small', 'org-s', 'x', 1024, 0)",
    );
    let error = refused.expect_err("a 1024-bit key row must be refused");
    assert!(error.contains("CHECK constraint failed"), "{error}");
}
