//! Read replicas: read-your-writes through D1 bookmarks, and what a lagging replica
//! has not received yet — a sign-in, room the sweep gave back (docs/performance.md, "D1
//! round trips"). All share one worker, each with an account or node id of its own.

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::accounts::{assert_error, verified_user};
use gatehouse_e2e::{shared_app, unique, TestResponse};
use serde_json::json;

fn primary_trips(res: &TestResponse) -> u64 {
    res.count("x-gatehouse-d1-primary")
}

#[test]
fn a_caller_that_sends_the_bookmark_back_reads_its_own_writes() {
    let app = shared_app();
    let (token, org, _) = verified_user(app, "ada@bookmark.acme.io");
    let key = PrivateKey::generate(2048).unwrap();
    let created = app.post_json_as(
        &token,
        &format!("/organization/{org}/key"),
        &json!({"publicKey": key.public_key().to_spki_pem()}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let written = created
        .header("x-d1-bookmark")
        .expect("a write hands back a bookmark")
        .to_owned();
    let key_id = created.json()["data"]["id"].clone();

    let list = |bookmark: Option<&str>| {
        let auth = format!("Bearer {token}");
        let mut headers = vec![("authorization", auth.as_str())];
        if let Some(b) = bookmark {
            headers.push(("x-d1-bookmark", b));
        }
        app.request("GET", &format!("/organization/{org}/key"), &headers, None)
    };
    let listed = list(Some(&written));
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.json()["data"][0]["id"], key_id);
    assert_eq!(
        primary_trips(&listed),
        0,
        "a list is read where a replica may answer"
    );
    // A bookmark comes back only when newer than the caller's (never an echo of what
    // the caller sent); bookmarks sort oldest to newest.
    if let Some(read) = listed.header("x-d1-bookmark") {
        assert!(read > written.as_str(), "{read} <= {written}");
    }

    // A bookmark D1 would not know, or one that is not a bookmark at all, is read as
    // none: the same answer, never a failure.
    for odd in [
        "ffffffff-ffffffff-ffffffff-ffffffffffffffffffffffffffffffff",
        "first-primary",
        "not a bookmark; drop table",
    ] {
        let res = list(Some(odd));
        assert_eq!(res.status, 200, "{odd}: {}", res.body);
        assert_eq!(res.json()["data"][0]["id"], key_id, "{odd}");
        assert_ne!(res.header("x-d1-bookmark"), Some(odd), "never echoed");
    }
}

/// A bearer read that a replica may serve asks the primary once more when the replica
/// has no row of the caller's sign-in (one made a moment ago that has not reached it:
/// login, sign-up and refresh hand back no bookmark, and the Flashback client would
/// send none), so the first call after signing in is not 401. Locally every replica is
/// the primary, so the lagging replica is injected (`replica-behind`); a sign-in row
/// really gone, and an ended one, are not.
#[test]
fn a_sign_in_a_replica_has_not_received_yet_is_read_at_the_primary() {
    let app = shared_app();
    let (token, org, ada) = verified_user(app, "ada@replica-behind.acme.io");
    let auth = format!("Bearer {token}");
    let paths = [
        "/user/profile".to_owned(),
        "/token".to_owned(),
        format!("/organization/{org}/key"),
    ];
    let read = |path: &str, fault: Option<&str>| {
        let mut headers = vec![("authorization", auth.as_str())];
        if let Some(fault) = fault {
            headers.push(("x-gatehouse-fault", fault));
        }
        let res = app.request("GET", path, &headers, None);
        let trips = |route: &str| res.count(&format!("x-gatehouse-d1-{route}"));
        let (replica, primary) = (trips("replica"), trips("primary"));
        (res, replica, primary)
    };
    for path in &paths {
        let (res, near, primary) = read(path, None);
        assert_eq!((res.status, primary), (200, 0), "{path}: {}", res.body);
        // The same reads, the sign-in's asked once more at the primary.
        let (res, replica, primary) = read(path, Some("replica-behind"));
        assert_eq!(
            (res.status, replica, primary),
            (200, near, 1),
            "{path}: {}",
            res.body
        );
        assert!(res.header("x-d1-bookmark").is_some(), "{path}: signed in");
    }

    // An ended sign-in is answered from the replica at once; asked again at the
    // primary (the replica lagging), it is still ended.
    let out = app.post_json(
        "/user/logout",
        &json!({"refresh_token": ada["refreshToken"]}),
    );
    assert_eq!(out.status, 200, "{}", out.body);
    for path in &paths {
        let (res, replica, primary) = read(path, None);
        assert_error(&res, 401, "SESSION_ENDED");
        assert_eq!((replica, primary), (1, 0), "{path}");
        let (res, _, primary) = read(path, Some("replica-behind"));
        assert_error(&res, 401, "SESSION_ENDED");
        assert_eq!(primary, 1, "{path}");
    }
    // A sign-in whose row is gone is asked at the primary too, which has none either.
    let sid = app.d1_query(&format!(
        "SELECT id FROM sign_ins WHERE user_id = '{}'",
        ada["user"]["id"].as_str().unwrap()
    ))[0]["id"]
        .clone();
    app.d1_query(&format!("DELETE FROM sign_ins WHERE id = {sid}"));
    for path in &paths {
        let (res, replica, primary) = read(path, None);
        assert_error(&res, 401, "SESSION_ENDED");
        assert_eq!((replica, primary), (1, 1), "{path}");
    }
}

/// `/register_node_secret` refuses a new node id for want of room (429, 503) only on
/// the primary's word: a replica that has not seen the sweep give room back answers
/// "full", and the request asks again in a session of its own at the primary — not in
/// the replica's session, which D1 may serve from the same replica. Injected as above
/// (`replica-behind`: a session started at a replica reads every bound full).
#[test]
fn a_replica_behind_the_sweep_refuses_no_new_node_id() {
    let app = shared_app();
    let node_id = unique("replica-behind-node");
    let body = json!({"node_id": node_id, "secret": "the-first-secret"}).to_string();
    let res = app.request(
        "POST",
        "/register_node_secret",
        &[
            ("content-type", "application/json"),
            ("x-gatehouse-fault", "replica-behind"),
        ],
        Some(body.as_bytes()),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    // The replica's read, the primary's, the insert.
    assert_eq!(
        (res.count("x-gatehouse-d1-replica"), primary_trips(&res)),
        (1, 2)
    );
    let stored = app.d1_query(&format!(
        "SELECT node_id FROM node_secrets WHERE node_id = '{node_id}'"
    ));
    assert_eq!(stored.len(), 1, "stored");
}
