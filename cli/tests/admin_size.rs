//! `gatehouse-cli admin stats` and `admin stale-nodes` (issue 24) against the local D1
//! of a running worker of their own: what they print is what the database holds.

mod common;

use gatehouse_e2e::nodes::{fields, now_ms, seed_org, signed};
use gatehouse_e2e::{spawn_app, TestApp};
use serde_json::Value;

fn admin(app: &TestApp, args: &[&str]) -> Value {
    let text = common::ok(&common::admin(app, args));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn stats_and_stale_nodes_report_what_the_database_holds() {
    let app = spawn_app();
    let key = seed_org(&app, "org-size", 2048);
    let now = now_ms();
    for ip in ["192.0.2.70", "192.0.2.71", "192.0.2.72"] {
        let res = app.post_json(
            "/register",
            &signed(&key, &fields(ip, now, Some("org-size"))),
        );
        assert_eq!(res.status, 200, "{}", res.body);
    }
    // .70 unseen for 2 hours, .71 for 10 minutes (within the 30-minute default).
    app.d1_query(&format!(
        "UPDATE nodes SET updated_at_ms = {} WHERE ip = '192.0.2.70'; \
         UPDATE nodes SET updated_at_ms = {} WHERE ip = '192.0.2.71'",
        now - 2 * 3600 * 1000,
        now - 10 * 60 * 1000
    ));

    let stats = admin(&app, &["stats"]);
    let tables = stats["tables"].as_array().unwrap();
    let table = |name: &str| {
        tables
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {stats}"))
            .clone()
    };
    assert_eq!(table("nodes")["rows"], 3, "{stats}");
    assert!(
        table("nodes")["bytes"].as_i64().unwrap() > 3 * 30,
        "{stats}"
    );
    assert_eq!(table("sign_ins")["rows"], 0);
    assert!(table("free_mail_domains")["rows"].as_i64().unwrap() > 10_000);
    assert!(
        tables
            .iter()
            .all(|t| !t["name"].as_str().unwrap().starts_with("_cf")),
        "Cloudflare's own tables are not ours to report"
    );
    let size = stats["databaseBytes"].as_i64().expect("databaseBytes");
    assert!(size >= stats["payloadBytes"].as_i64().unwrap(), "{stats}");
    assert_eq!(stats["limitBytes"], 10_000_000_000u64);

    let stale = admin(&app, &["stale-nodes"]);
    let ips: Vec<&str> = stale
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["ip"].as_str().unwrap())
        .collect();
    assert_eq!(ips, ["192.0.2.70"], "{stale}");
    assert!(stale[0]["removal_due"].as_str().is_some(), "{stale}");
    // With a 5-minute threshold the node unseen for 10 minutes is stale too.
    let sooner = admin(&app, &["stale-nodes", "--offline-after-seconds", "300"]);
    assert_eq!(sooner.as_array().unwrap().len(), 2, "{sooner}");
}
