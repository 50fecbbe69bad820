//! The restore drill (issue 24, docs/backups.md): a worker's database is exported with
//! `wrangler d1 export`, the worker is gone, and a new one is booted over a fresh
//! database holding nothing but the import of that export. Everyone continues where
//! they were: the person's sign-in and password, the organization's keys, the node's
//! registrations — and a captured registration replayed against the restored service
//! is still refused, although the KV nonces were not part of the backup (D1's ordering
//! of signed timestamps holds replay protection on its own).

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::accounts::{assert_error, login_at, verified_user, PASSWORD};
use gatehouse_e2e::nodes::{fields, node_count, now_ms, signed, upload_new_key};
use gatehouse_e2e::{spawn_app, spawn_app_restored, TestApp};
use serde_json::{json, Value};

const EMAIL: &str = "ada@restore.acme.io";
const NODE_IP: &str = "198.51.100.20";

struct Before {
    org: String,
    access: String,
    refresh_used: String,
    refresh_current: String,
    key: PrivateKey,
    key_id: Value,
    registrations: Vec<Value>,
    last_signed_ms: i64,
}

/// Everything a user, an organization and a node do before the backup.
fn use_the_service(app: &TestApp) -> Before {
    let (_, org, signed_up) = verified_user(app, EMAIL);
    let login = login_at(app, "192.0.2.1", EMAIL, PASSWORD);
    assert_eq!(login.status, 200, "{}", login.body);
    let access = login.json()["accessToken"].as_str().unwrap().to_owned();
    let (key, uploaded) = upload_new_key(app, &access, &org);

    let t = now_ms();
    // The node upgrades between its two registrations: the second is a change, written.
    let registrations: Vec<Value> = [(t - 60_000, "1.4.2"), (t - 30_000, "1.4.3")]
        .iter()
        .map(|&(ts, version)| {
            let mut f = fields(NODE_IP, ts, Some(&org));
            f.version = version.into();
            signed(&key, &f)
        })
        .collect();
    for body in &registrations {
        let res = app.post_json("/register", body);
        assert_eq!(res.status, 200, "{}", res.body);
    }

    let refresh_used = signed_up["refreshToken"].as_str().unwrap().to_owned();
    let rotated = app.post_json("/user/refresh", &json!({"refreshToken": refresh_used}));
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    Before {
        org,
        access,
        refresh_used,
        refresh_current: rotated.json()["refreshToken"].as_str().unwrap().to_owned(),
        key,
        key_id: uploaded.json()["data"]["id"].clone(),
        registrations,
        last_signed_ms: t - 30_000,
    }
}

/// The node's stored row, as the restored database holds it.
fn node_row(app: &TestApp) -> Value {
    app.d1_query(&format!(
        "SELECT version, last_signed_at_ms, updated_at_ms FROM nodes WHERE ip = '{NODE_IP}'"
    ))
    .pop()
    .expect("the node's row")
}

#[test]
fn an_exported_database_restored_into_a_fresh_one_continues_where_it_was() {
    let dump_dir = tempfile::tempdir().unwrap();
    let dump = dump_dir.path().join("gatehouse.sql");
    let before = {
        let app = spawn_app();
        let before = use_the_service(&app);
        app.d1_export(&dump);
        before
        // The first worker and its database are gone from here on.
    };

    let app = spawn_app_restored(&dump);

    // The person: the access token issued before the backup still reads the profile,
    // the current refresh token of the sign-in still rotates, the password still works.
    let profile = app.request_as(&before.access, "GET", "/user/profile", None);
    assert_eq!(profile.status, 200, "{}", profile.body);
    assert_eq!(profile.json()["data"]["email"], EMAIL);
    let refreshed = app.post_json(
        "/user/refresh",
        &json!({"refreshToken": before.refresh_current}),
    );
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(login_at(&app, "192.0.2.2", EMAIL, PASSWORD).status, 200);

    // The organization: its key, as uploaded; the node, as last registered.
    let keys = app.request_as(
        &before.access,
        "GET",
        &format!("/organization/{}/key", before.org),
        None,
    );
    assert_eq!(keys.status, 200, "{}", keys.body);
    assert_eq!(keys.json()["data"][0]["id"], before.key_id);
    let nodes = app
        .request_as(
            &before.access,
            "GET",
            &format!("/organization/{}/nodes", before.org),
            None,
        )
        .json();
    assert_eq!(nodes["data"].as_array().map(Vec::len), Some(1), "{nodes}");
    assert_eq!(nodes["data"][0]["ip"], NODE_IP);

    // A thief's captured registrations, replayed: the restored KV holds no nonce for
    // them, and D1's last signed timestamp alone decides. The older one would put the
    // node back on 1.4.2: refused. The newer one is the stored state itself: at most a
    // no-op (writes only on change, docs/nodes.md) — either way nothing changes.
    let older = app.post_json("/register", &before.registrations[0]);
    assert_eq!(older.status, 400, "{}", older.body);
    assert!(older.body.contains("Replay detected"), "{}", older.body);
    let stored = node_row(&app);
    let same = app.post_json("/register", &before.registrations[1]);
    assert!([200, 400].contains(&same.status), "{}", same.body);
    assert_eq!(node_row(&app), stored, "a replay changed the stored node");
    assert_eq!(stored["version"], "1.4.3");
    // The node's next heartbeat is stored, signed by the restored key.
    let next = app.post_json(
        "/register",
        &signed(
            &before.key,
            &fields(NODE_IP, before.last_signed_ms + 1_000, Some(&before.org)),
        ),
    );
    assert_eq!(next.status, 200, "{}", next.body);
    // The organization's node count came back with its rows, and the triggers that
    // keep it (migration 0019) with the schema: a new node counts, its removal too.
    assert_eq!(node_count(&app, &before.org), 1);
    let second = app.post_json(
        "/register",
        &signed(
            &before.key,
            &fields("192.0.2.201", before.last_signed_ms, Some(&before.org)),
        ),
    );
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(node_count(&app, &before.org), 2);

    // A refresh token that was already rotated before the backup is still spent.
    let reused = app.post_json(
        "/user/refresh",
        &json!({"refreshToken": before.refresh_used}),
    );
    assert_eq!(reused.status, 401, "{}", reused.body);
    assert_error(&reused, 401, "TOKEN_REUSED");
}
