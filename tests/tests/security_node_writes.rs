//! What the one conditional node write decides at write time, tried as an attacker
//! would (SECURITY.md names each): a key revoked or an organization banned between the
//! cold path's read and its write (a registration's, and an unregistration's), and an
//! organization's key adding node rows past
//! `NODES_MAX`, one at a time or all at once. Each runs on a worker of its own,
//! configured for it (D1 slowed down on purpose; a small NODES_MAX).

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::nodes::{
    fields, node_count, node_row_sql, nodes_at, now_ms, register, seed_org, signed, unregister_body,
};
use gatehouse_e2e::spawn_app_with;
use serde_json::{json, Value};

const REPLAY: &str =
    "Replay detected: this signed request was already used or is older than the last one";

#[test]
fn a_revocation_or_ban_between_the_cold_read_and_write_is_not_missed() {
    // Each D1 round trip takes 25 s here: the read lands at ~25 s, the revocation and
    // the ban are written at 30 s (straight into the SQLite file, which must be done
    // before the worker writes: the requests are sent from threads of their own, so the
    // harness does not hold them back), the write lands at ~50 s. So a loaded machine
    // may take up to 5 s to bring a request to its read, and 20 s from there to the
    // write. A 500 prints the
    // worker's log, to tell such a collision from a fault. Each organization also has
    // a node that an unregistration, sent alongside, would remove.
    let app = spawn_app_with(&[("D1_LATENCY_MS", "25000")]);
    let revoked = seed_org(&app, "org-revoked", 2048);
    let banned = seed_org(&app, "org-banned", 2048);
    let standing = [
        ("org-revoked", "203.0.113.68"),
        ("org-banned", "203.0.113.69"),
    ];
    for (org, ip) in standing {
        app.d1_query(&node_row_sql(org, ip, &format!("{org}-key"), 1));
    }
    let t = now_ms();
    let send = |path: &str, payload: Value| {
        let url = app.url(path);
        let payload = payload.to_string();
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
    let register = |key: &PrivateKey, ip: &str, org: &str| {
        send("/register", signed(key, &fields(ip, t, Some(org))))
    };
    let first = register(&revoked, "203.0.113.66", "org-revoked");
    let second = register(&banned, "203.0.113.67", "org-banned");
    let removals = [
        send(
            "/unregister",
            unregister_body(&revoked, standing[0].1, t, standing[0].0),
        ),
        send(
            "/unregister",
            unregister_body(&banned, standing[1].1, t, standing[1].0),
        ),
    ];
    std::thread::sleep(std::time::Duration::from_secs(30));
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
    // The unregistrations' deletes find the key revoked and the organization banned:
    // nothing removed (the replay answer: the next request is refused by name).
    // (Refused by the read instead, had the 30 s write come before it, the answer would
    // name the key or the ban: this one says the delete itself declined.)
    for removal in removals {
        assert_eq!(
            answer(removal.join().unwrap()),
            (400, json!({"success": false, "message": REPLAY}))
        );
    }
    let left = app.d1_query("SELECT org_id, ip FROM nodes ORDER BY ip");
    let standing: Vec<Value> = standing
        .iter()
        .map(|(org, ip)| json!({"org_id": org, "ip": ip}))
        .collect();
    assert_eq!(left, standing, "no node registered, none removed");
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
