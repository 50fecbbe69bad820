//! Node liveness (issue 24): a node that stops registering is listed `OFFLINE` to its
//! organization after `NODE_OFFLINE_AFTER_SECONDS` and leaves the public directory; a
//! registration brings it back. Liveness is read from the stored last-seen time, so
//! the tests move that back in D1 rather than wait.

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::accounts::verified_user;
use gatehouse_e2e::nodes::{installer_body, now_ms};
use gatehouse_e2e::{spawn_app_with, TestApp};
use serde_json::Value;

fn statuses(app: &TestApp, access: &str, org: &str) -> Vec<(String, String)> {
    let res = app.request_as(access, "GET", &format!("/organization/{org}/nodes"), None);
    assert_eq!(res.status, 200, "{}", res.body);
    let mut listed: Vec<(String, String)> = res.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (text(n, "ip"), text(n, "status")))
        .collect();
    listed.sort();
    listed
}

fn directory(app: &TestApp) -> Vec<String> {
    gatehouse_e2e::nodes::directory(app).0
}

fn text(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_default().to_owned()
}

fn register(app: &TestApp, key: &PrivateKey, ip: &str, org: &str, secs: i64) {
    let res = app.post_json("/register", &installer_body(key, ip, secs, org));
    assert_eq!(res.status, 200, "{}", res.body);
}

#[test]
fn a_node_that_stops_registering_is_offline_in_its_list_and_gone_from_the_directory() {
    // 20 minutes, not the default 30: the setting decides, not a constant. (It must stay
    // above NODE_SEEN_RESOLUTION_SECONDS, how stale the stored last-seen may be.)
    let app = spawn_app_with(&[("NODE_OFFLINE_AFTER_SECONDS", "1200")]);
    let (access, org, _) = verified_user(&app, "ada@liveness.example");
    let key = PrivateKey::generate(2048).expect("RSA key");
    app.seed_org_key(&org, "liveness-key", &key.public_key().to_spki_pem(), 2048);
    app.d1_query(&format!(
        "UPDATE organizations SET network_provider = 1 WHERE id = '{org}'"
    ));
    let secs = now_ms() / 1000;
    for ip in ["203.0.113.1", "203.0.113.2"] {
        register(&app, &key, ip, &org, secs);
    }
    let running = |ip: &str| (ip.to_owned(), "running".to_owned());
    let offline = |ip: &str| (ip.to_owned(), "OFFLINE".to_owned());
    assert_eq!(
        statuses(&app, &access, &org),
        vec![running("203.0.113.1"), running("203.0.113.2")]
    );
    assert_eq!(directory(&app), vec!["203.0.113.1", "203.0.113.2"]);

    // .1 last seen 1300 s ago (past 1200 s, within the default 1800); .2 1100 s ago —
    // their last written requests signed then too, as a node that went quiet left them.
    let now = now_ms();
    app.d1_query(&format!(
        "UPDATE nodes SET updated_at_ms = {0}, last_signed_at_ms = {0} WHERE ip = '203.0.113.1'; \
         UPDATE nodes SET updated_at_ms = {1}, last_signed_at_ms = {1} WHERE ip = '203.0.113.2'",
        now - 1_300_000,
        now - 1_100_000
    ));
    assert_eq!(
        statuses(&app, &access, &org),
        vec![offline("203.0.113.1"), running("203.0.113.2")]
    );
    assert_eq!(directory(&app), vec!["203.0.113.2"]);

    // It registers again: live, with what its installer sends, and listed again.
    register(&app, &key, "203.0.113.1", &org, secs + 1);
    assert_eq!(
        statuses(&app, &access, &org),
        vec![running("203.0.113.1"), running("203.0.113.2")]
    );
    assert_eq!(directory(&app), vec!["203.0.113.1", "203.0.113.2"]);
}

#[test]
fn a_removal_that_is_not_after_the_offline_threshold_is_refused_at_startup() {
    // 1 day of removal against 2 days offline: the worker reports the setting by name.
    let app = spawn_app_with(&[
        ("NODE_OFFLINE_AFTER_SECONDS", "172800"),
        ("NODE_REMOVE_AFTER_DAYS", "1"),
    ]);
    let res = app.get("/health");
    assert_eq!(res.status, 503, "{}", res.body);
    assert_eq!(res.json()["checks"]["config"], "error");
    let log = app.wait_for_log("configuration NODE_REMOVE_AFTER_DAYS");
    assert!(
        log.contains("configuration NODE_REMOVE_AFTER_DAYS"),
        "{log}"
    );
}
