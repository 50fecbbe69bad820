//! `gatehouse-cli admin stats` and `admin stale-nodes` (issue 24) against the local D1
//! of a running worker of their own: what they print is what the database holds. And
//! the local database file itself: a command that meets the dev worker's lock on it
//! (its checkpoint as it closes the file) is made again, not failed.

mod common;

use gatehouse_e2e::nodes::{fields, now_ms, seed_org, signed};
use gatehouse_e2e::{spawn_app, TestApp};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

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

    // By default counts only (each table's narrowest index), no column read.
    let counted = admin(&app, &["stats"]);
    assert_eq!(counted["payloadBytes"], Value::Null, "{counted}");
    let nodes = counted["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "nodes")
        .cloned();
    assert_eq!(
        nodes,
        Some(json!({"name": "nodes", "rows": 3})),
        "{counted}"
    );
    // With --bytes, the bytes of every table's values too.
    let stats = admin(&app, &["stats", "--bytes"]);
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

    // Who has a node at an address, asked as an abuse report may give it (an
    // IPv4-mapped IPv6 address is the IPv4 node); an address nobody's node has, none;
    // what is no address, refused before any query.
    let found = admin(&app, &["find-node", "::ffff:192.0.2.71"]);
    assert_eq!(found["ip"], "192.0.2.71", "{found}");
    let nodes = found["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "{found}");
    assert_eq!(
        (nodes[0]["org_id"].clone(), nodes[0]["org_name"].clone()),
        (json!("org-size"), json!("Org org-size")),
        "{found}"
    );
    assert!(nodes[0]["last_seen"].as_str().is_some(), "{found}");
    let nobody = admin(&app, &["find-node", "198.51.100.9"]);
    assert_eq!(nobody["nodes"], json!([]), "{nobody}");
    let refused = common::admin(&app, &["find-node", "192.0.2.71' OR 1=1"]);
    assert!(!refused.status.success());
    assert!(
        common::stderr(&refused).contains("Invalid ip"),
        "{}",
        common::stderr(&refused)
    );
}

/// The dev worker closes its database ~10 s after its last request and checkpoints it
/// under an exclusive lock; a `wrangler d1 execute` opening the file then is answered
/// SQLITE_BUSY (twice in this suite's CI runs, on the command ~10 s after a test's last
/// request). Here the test holds that lock itself until the command has met it: the
/// command says it tries again, then does, once, and the ban is in place.
#[test]
fn a_local_command_that_meets_the_workers_lock_on_the_file_is_made_again() {
    let app = spawn_app();
    let key = seed_org(&app, "org-lock", 2048);
    let registered = app.post_json(
        "/register",
        &signed(&key, &fields("192.0.2.75", now_ms(), Some("org-lock"))),
    );
    assert_eq!(registered.status, 200, "{}", registered.body);

    let (mut command, stderr) = app.with_database_file_locked(|| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse-cli"))
            .current_dir(gatehouse_e2e::project_root())
            .args(["admin", "ban", "org-lock", "--local", "--persist-to"])
            .arg(app.persist_dir())
            .env("TMPDIR", app.tmp_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run gatehouse-cli admin");
        // Its stderr, line by line, until it says it will try again (or ends).
        let (lines, said) = mpsc::channel();
        let reader = BufReader::new(command.stderr.take().expect("stderr"));
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let mut stderr = String::new();
        while let Ok(line) = said.recv_timeout(Duration::from_secs(120)) {
            stderr.push_str(&line);
            stderr.push('\n');
            if line.contains("trying again") {
                break;
            }
        }
        (command, (stderr, said))
    });
    let (mut stderr, rest) = stderr;
    stderr.extend(rest.iter().map(|line| line + "\n"));
    let status = command.wait().expect("gatehouse-cli admin");
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut command.stdout.take().unwrap(), &mut stdout).unwrap();
    assert!(status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("locked by another process")
            && stderr.contains("nothing changed; trying again"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("trying again").count(), 1, "{stderr}");
    assert!(stdout.contains("organization org-lock banned"), "{stdout}");
    let banned = app.d1_query("SELECT banned FROM organizations WHERE id = 'org-lock'");
    assert_eq!(banned[0]["banned"], 1);
}

/// `stats` names the networks that registered the most node ids through
/// /register_node_secret (migration 0029's counts), and `purge-node-secrets` removes
/// one network's, giving its room back: its node ids register again as new.
#[test]
fn node_id_networks_are_listed_and_one_is_purged() {
    let app = spawn_app();
    let register = |ip: &str, id: &str| {
        let body = serde_json::json!({"node_id": id, "secret": "the-first-secret"}).to_string();
        let res = app.request(
            "POST",
            "/register_node_secret",
            &[
                ("content-type", "application/json"),
                ("cf-connecting-ip", ip),
            ],
            Some(body.as_bytes()),
        );
        assert_eq!(res.status, 200, "{}", res.body);
    };
    for (ip, id) in [
        ("2001:db8:7:1::1", "flood-1"),
        ("2001:db8:7:2::1", "flood-2"),
        ("2001:db8:7:3::1", "flood-3"),
        ("198.51.100.4", "honest-1"),
    ] {
        register(ip, id);
    }
    let stats = admin(&app, &["stats"]);
    assert_eq!(
        stats["topNodeSecretNetworks"],
        serde_json::json!([
            {"network": "2001:db8:7::/48", "nodeIds": 3},
            {"network": "198.51.100.0/24", "nodeIds": 1},
        ]),
        "{stats}"
    );

    let purged = admin(&app, &["purge-node-secrets", "2001:db8:7:abcd::9"]);
    assert_eq!(
        purged,
        serde_json::json!({"network": "2001:db8:7::/48", "nodeIdsRemoved": 3})
    );
    let left = app.d1_query("SELECT node_id FROM node_secrets ORDER BY node_id");
    assert_eq!(left, vec![serde_json::json!({"node_id": "honest-1"})]);
    let stats = admin(&app, &["stats"]);
    assert_eq!(
        stats["topNodeSecretNetworks"],
        serde_json::json!([{"network": "198.51.100.0/24", "nodeIds": 1}])
    );
    // A purged node id is new again: another secret registers it.
    register("2001:db8:7:1::1", "flood-1");

    let refused = common::admin(&app, &["purge-node-secrets", "2001:db8::/32"]);
    common::assert_refused(&refused, 1, "counted by IPv4 /24 and IPv6 /48");
}
