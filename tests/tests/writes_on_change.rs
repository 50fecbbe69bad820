//! Writes only on change (docs/nodes.md, "Writes only on change"; the Replay row of
//! SECURITY.md, "Threat model"): an unchanged heartbeat writes no row until the node's last written one
//! is `NODE_SEEN_RESOLUTION_SECONDS` old; a change is written at once; and the replay
//! rule is exact for every change — after a change, every earlier message is
//! refused, and a replayed unchanged message changes nothing.
//!
//! The worker here runs with `REPLAY_NONCES=d1`: no KV nonce answers first, so what
//! is tested is D1's guarantee alone (with KV, replays are refused earlier still).

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_core::nodes::registration::SignedFields;
use gatehouse_e2e::nodes::{fields, now_ms, seed_org, signed};
use gatehouse_e2e::{spawn_app_with, TestApp, TestResponse};
use serde_json::{json, Value};

const SECONDS: i64 = 1000;

fn rows_written(res: &TestResponse) -> u64 {
    res.header("x-gatehouse-d1-rows-written")
        .expect("rows-written header")
        .parse()
        .unwrap()
}

/// Everything stored about the node: what a replay must not change.
fn stored(app: &TestApp, org: &str) -> Vec<Value> {
    app.d1_query(&format!("SELECT * FROM nodes WHERE org_id = '{org}'"))
}

fn send(app: &TestApp, body: &Value) -> TestResponse {
    app.post_json("/register", body)
}

fn assert_replay(res: &TestResponse, what: &str) {
    assert_eq!(res.status, 400, "{what}: {}", res.body);
    assert!(
        res.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("Replay detected"),
        "{what}: {}",
        res.body
    );
    assert_eq!(rows_written(res), 0, "{what}");
}

fn at(key: &PrivateKey, f: &SignedFields) -> Value {
    signed(key, f)
}

#[test]
fn after_a_change_every_earlier_message_is_refused_and_an_unchanged_replay_changes_nothing() {
    let app = spawn_app_with(&[
        ("REPLAY_NONCES", "d1"),
        ("NODE_SEEN_RESOLUTION_SECONDS", "60"),
    ]);
    let key = seed_org(&app, "org-w", 2048);
    let ip = "198.51.100.90";
    // Signed in the past, within the 300 s freshness window, so later steps fit in it.
    let t0 = now_ms() - 100 * SECONDS;
    let version = |ts: i64, v: &str| {
        let mut f = fields(ip, ts, Some("org-w"));
        f.version = v.into();
        f
    };

    let m1 = at(&key, &version(t0, "1.0"));
    let first = send(&app, &m1);
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        first.header("x-gatehouse-kv-reads"),
        Some("0"),
        "no KV with REPLAY_NONCES=d1"
    );
    assert_eq!(first.header("x-gatehouse-kv-writes"), Some("0"));
    // Two heartbeats that change nothing: answered as stored, no row written.
    let m2 = at(&key, &version(t0 + 10 * SECONDS, "1.0"));
    let m3 = at(&key, &version(t0 + 20 * SECONDS, "1.0"));
    for (name, m) in [("m2", &m2), ("m3", &m3)] {
        let res = send(&app, m);
        assert_eq!(res.status, 200, "{name}: {}", res.body);
        assert_eq!(rows_written(&res), 0, "{name} changed nothing");
    }
    let before = stored(&app, "org-w");
    assert_eq!(
        before[0]["last_signed_at_ms"],
        json!(t0),
        "the last change's timestamp"
    );

    // An unchanged replay is at most a no-op: answered, nothing changes.
    let replay = send(&app, &m2);
    assert_eq!(
        replay.status, 200,
        "answered as the heartbeat was: {}",
        replay.body
    );
    assert_eq!(rows_written(&replay), 0, "{}", replay.body);
    assert_eq!(stored(&app, "org-w"), before, "the replay changed nothing");

    // A change is written at once…
    let m4 = at(&key, &version(t0 + 30 * SECONDS, "2.0"));
    let change = send(&app, &m4);
    assert_eq!(change.status, 200, "{}", change.body);
    assert!(rows_written(&change) > 0);
    let after = stored(&app, "org-w");
    assert_eq!(
        (
            after[0]["version"].as_str(),
            after[0]["last_signed_at_ms"].as_i64()
        ),
        (Some("2.0"), Some(t0 + 30 * SECONDS))
    );
    // …and then every earlier message is refused: the ones sent (changes and
    // heartbeats alike), the change itself, and one signed earlier but never sent (a
    // captured, withheld request), whatever its fields.
    let withheld = at(&key, &version(t0 + 25 * SECONDS, "1.0"));
    let withheld_same = at(&key, &version(t0 + 29 * SECONDS, "2.0"));
    for (name, m) in [
        ("m1", &m1),
        ("m2", &m2),
        ("m3", &m3),
        ("m4", &m4),
        ("withheld, old fields", &withheld),
        ("withheld, new fields", &withheld_same),
    ] {
        assert_replay(&send(&app, m), name);
    }
    assert_eq!(
        stored(&app, "org-w"),
        after,
        "nothing earlier changed anything"
    );

    // Past the resolution (60 s after the last written request), an unchanged
    // heartbeat is written: the last-seen liveness reads is refreshed.
    let m5 = at(&key, &version(t0 + 95 * SECONDS, "2.0"));
    let refresh = send(&app, &m5);
    assert_eq!(refresh.status, 200, "{}", refresh.body);
    assert!(rows_written(&refresh) > 0, "the last-seen is refreshed");
    let refreshed = stored(&app, "org-w");
    assert_eq!(refreshed[0]["last_signed_at_ms"], json!(t0 + 95 * SECONDS));
    assert!(
        refreshed[0]["updated_at_ms"].as_i64() > after[0]["updated_at_ms"].as_i64(),
        "{refreshed:?} after {after:?}"
    );
    // Heartbeats within the resolution of it are not; their replays neither.
    let m6 = at(&key, &version(t0 + 150 * SECONDS, "2.0"));
    assert_eq!(rows_written(&send(&app, &m6)), 0);
    assert_eq!(rows_written(&send(&app, &m6)), 0, "its replay");
    assert_eq!(stored(&app, "org-w"), refreshed);
}

#[test]
fn with_resolution_zero_every_heartbeat_is_written() {
    let app = spawn_app_with(&[("NODE_SEEN_RESOLUTION_SECONDS", "0")]);
    let key = seed_org(&app, "org-z", 2048);
    let t = now_ms();
    let ip = "198.51.100.91";
    assert_eq!(
        send(&app, &signed(&key, &fields(ip, t, Some("org-z")))).status,
        200
    );
    let beat = send(&app, &signed(&key, &fields(ip, t + 1, None)));
    assert_eq!(beat.status, 200, "{}", beat.body);
    assert!(
        rows_written(&beat) > 0,
        "written as before writes-on-change"
    );
    assert_eq!(beat.header("x-gatehouse-kv-writes"), Some("1"));
    assert_eq!(stored(&app, "org-z")[0]["last_signed_at_ms"], json!(t + 1));
}

#[test]
fn the_cold_path_also_skips_an_unchanged_heartbeat_and_still_inserts_a_new_node() {
    // D1_BASELINE=on skips the isolate's node cache: every registration takes the cold
    // path (read, then the conditional upsert), as in an isolate that has not seen the
    // node yet.
    let app = spawn_app_with(&[("D1_BASELINE", "on")]);
    let key = seed_org(&app, "org-c", 2048);
    let ip = "198.51.100.92";
    let t = now_ms();
    let first = send(&app, &signed(&key, &fields(ip, t, Some("org-c"))));
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(rows_written(&first) > 0, "a new node is inserted");
    let before = stored(&app, "org-c");
    let beat = send(&app, &signed(&key, &fields(ip, t + SECONDS, None)));
    assert_eq!(
        (beat.status, beat.header("x-gatehouse-d1-primary")),
        (200, Some("2")),
        "{}",
        beat.body
    );
    assert_eq!(rows_written(&beat), 0, "unchanged: nothing written");
    assert_eq!(beat.header("x-gatehouse-kv-writes"), Some("0"));
    assert_eq!(stored(&app, "org-c"), before);
    let mut changed = fields(ip, t + 2 * SECONDS, None);
    changed.status = "inactive".into();
    let change = send(&app, &signed(&key, &changed));
    assert_eq!(change.status, 200, "{}", change.body);
    assert!(rows_written(&change) > 0);
    // The heartbeat before the change is now refused on the cold path too.
    let late = send(&app, &signed(&key, &fields(ip, t + SECONDS + 500, None)));
    assert_replay(&late, "a heartbeat signed before the change");
}
