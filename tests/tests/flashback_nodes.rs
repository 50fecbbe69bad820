//! Flashback's own tools against gatehouse, unchanged: every node call of the public
//! TypeScript client and the node installer's registration, with the exact method,
//! path, headers and body bytes they send (tests/src/flashback.rs); the key calls are
//! in flashback_keys.rs.
//!
//! All on one shared worker: each test has its own person, organization and node
//! addresses. Only the listing test makes an organization a network provider, so the
//! public directory it reads holds its nodes alone.

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::accounts::verified_user;
use gatehouse_e2e::flashback::{
    client_call, client_registration, installer_payload, installer_payload_for,
    installer_payload_without_provider, installer_post, json_reply,
};
use gatehouse_e2e::nodes::{now_ms, unregister_signature};
use gatehouse_e2e::{shared_app, TestApp, TestResponse};
use serde_json::{json, Value};

fn node_row(app: &TestApp, ip: &str) -> Vec<Value> {
    app.d1_query(&format!(
        "SELECT provider, status, node_services, org_id FROM nodes WHERE ip = '{ip}'"
    ))
}

#[test]
fn generated_keys_register_nodes_in_the_clients_and_the_installers_forms() {
    let app = shared_app();
    let (token, org, _) = verified_user(app, "ada@installer.acme.io");
    let bearer = Some(token.as_str());

    // generateOrgKey: POST, no body, no Content-Type, no Accept of the client's own
    // (fetch's `*/*` only) → the PEM as JSON.
    let generated = client_call(
        app,
        bearer,
        "POST",
        &format!("organization/{org}/key"),
        None,
    );
    let pem: String = serde_json::from_value(json_reply(&generated, 200)).expect("a JSON string");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let key = PrivateKey::from_pem(&pem).unwrap();

    // The installer, current spelling, signed by the openssl CLI: AWS is stored as S3.
    let seconds = now_ms() / 1000;
    let res = installer_post(
        app,
        "/register",
        &installer_payload(&pem, "203.0.113.20", "id_org", &org, seconds),
    );
    assert_eq!(
        json_reply(&res, 200),
        json!({"success": true, "message": "Registration successful"})
    );
    assert_eq!(
        node_row(app, "203.0.113.20"),
        vec![json!({"provider": "S3", "status": "running", "node_services": 1, "org_id": org})]
    );
    // An installer from before October 2025 (org_id), on another node.
    let res = installer_post(
        app,
        "/register",
        &installer_payload(&pem, "203.0.113.21", "org_id", &org, seconds),
    );
    json_reply(&res, 200);
    // The same payload again is a replay.
    let again = installer_post(
        app,
        "/register",
        &installer_payload(&pem, "203.0.113.21", "org_id", &org, seconds),
    );
    assert_eq!(again.status, 400);
    assert!(again.json()["message"]
        .as_str()
        .unwrap()
        .starts_with("Replay"));
    // The installer run with -p gcp: GCP is stored as GCS.
    let res = installer_post(
        app,
        "/register",
        &installer_payload_for("GCP", &pem, "203.0.113.23", "id_org", &org, seconds),
    );
    json_reply(&res, 200);
    assert_eq!(
        node_row(app, "203.0.113.23"),
        vec![json!({"provider": "GCS", "status": "running", "node_services": 1, "org_id": org})]
    );
    // The installer run without -p deletes provider: the node serves all three APIs.
    let res = installer_post(
        app,
        "/register",
        &installer_payload_without_provider(&pem, "203.0.113.22", "id_org", &org, seconds),
    );
    json_reply(&res, 200);
    assert_eq!(
        node_row(app, "203.0.113.22"),
        vec![
            json!({"provider": "UNKNOWN", "status": "running", "node_services": 1, "org_id": org})
        ]
    );

    // The client's nodeRegister: milliseconds, nodeServices, and the bearer it keeps
    // sending once set (stale here: public routes ignore it).
    let body = client_registration(&key, "2001:db8::20", &org, now_ms(), 2 | 4);
    let res = client_call(
        app,
        Some("stale.or.invalid"),
        "POST",
        "register",
        Some(&body),
    );
    assert_eq!(json_reply(&res, 200)["success"], true);
    assert_eq!(
        node_row(app, "2001:db8::20"),
        vec![json!({"provider": "GCS", "status": "ONLINE", "node_services": 6, "org_id": org})]
    );
}

/// Round trips to the D1 primary of one answer (test hooks).
fn primary_trips(res: &TestResponse) -> &str {
    res.header("x-gatehouse-d1-primary")
        .expect("round-trip header")
}

#[test]
fn the_installers_and_the_clients_periodic_re_registrations_take_one_primary_round_trip() {
    let app = shared_app();
    let (token, org, _) = verified_user(app, "ada@periodic.acme.io");
    let generated = client_call(
        app,
        Some(token.as_str()),
        "POST",
        &format!("organization/{org}/key"),
        None,
    );
    let pem: String = serde_json::from_value(json_reply(&generated, 200)).unwrap();
    let key = PrivateKey::from_pem(&pem).unwrap();

    // The installer's jq payload signed by openssl, then its next run a second later.
    let seconds = now_ms() / 1000;
    for (i, ts) in [seconds, seconds + 1].into_iter().enumerate() {
        let payload = installer_payload(&pem, "203.0.113.30", "id_org", &org, ts);
        let res = installer_post(app, "/register", &payload);
        json_reply(&res, 200);
        assert_eq!(primary_trips(&res), ["2", "1"][i], "installer run {i}");
    }
    // The client's nodeRegister, twice.
    let first = now_ms();
    for (i, ms) in [first, first + 1].into_iter().enumerate() {
        let body = client_registration(&key, "2001:db8::30", &org, ms, 1);
        let res = client_call(
            app,
            Some("stale.or.invalid"),
            "POST",
            "register",
            Some(&body),
        );
        json_reply(&res, 200);
        assert_eq!(primary_trips(&res), ["2", "1"][i], "client call {i}");
    }
}

#[test]
fn node_listing_directory_unregister_and_delete_as_the_client_calls_them() {
    let app = shared_app();
    let (token, org, _) = verified_user(app, "ada@listing.acme.io");
    let bearer = Some(token.as_str());
    let generated = client_call(
        app,
        bearer,
        "POST",
        &format!("organization/{org}/key"),
        None,
    );
    let pem: String = serde_json::from_value(json_reply(&generated, 200)).unwrap();
    let key = PrivateKey::from_pem(&pem).unwrap();
    let t = now_ms();
    for (ip, services) in [
        ("198.51.100.31", 1),
        ("198.51.100.32", 2),
        ("198.51.100.33", 4 | 1),
    ] {
        let body = client_registration(&key, ip, &org, t, services);
        json_reply(
            &client_call(app, bearer, "POST", "register", Some(&body)),
            200,
        );
    }

    // getPrivateNodeInfo: GET organization/{org}/nodes.
    let listed = json_reply(
        &client_call(
            app,
            bearer,
            "GET",
            &format!("organization/{org}/nodes"),
            None,
        ),
        200,
    );
    assert_eq!(listed["total"], 3);
    let node = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["ip"] == "198.51.100.33")
        .unwrap()
        .clone();
    for field in [
        "id",
        "ip",
        "region",
        "version",
        "status",
        "lastUpdated",
        "url",
        "id_org",
        "nodeServices",
        "provider",
        "keyId",
    ] {
        assert!(!node[field].is_null(), "NodeInfo.{field}: {node}");
    }
    assert_eq!(listed["success"], true);
    assert_eq!(node["url"], "https://198.51.100.33");
    assert_eq!(node["nodeServices"], 5);
    assert_eq!(node["id_org"], json!(org));
    // What the node signed, as it signed it; `lastUpdated` a date-time string.
    assert_eq!(
        (
            &node["region"],
            &node["version"],
            &node["status"],
            &node["provider"]
        ),
        (
            &json!("europe-west1"),
            &json!("2.1.0"),
            &json!("ONLINE"),
            &json!("GCS")
        )
    );
    let seen = node["lastUpdated"]
        .as_str()
        .expect("lastUpdated is a string");
    assert!(
        gatehouse_core::time::parse_rfc3339_ms(seen).is_some(),
        "{seen}"
    );

    // getNodeInfo: the public directory lists only network providers' nodes.
    let directory = |services: u32| {
        json_reply(
            &client_call(
                app,
                bearer,
                "GET",
                &format!("node?nodeServices={services}"),
                None,
            ),
            200,
        )
    };
    assert_eq!(
        directory(0),
        json!({"success": true, "total": 0, "data": []})
    );
    app.d1_query(&format!(
        "UPDATE organizations SET network_provider = 1 WHERE id = '{org}'"
    ));
    assert_eq!(directory(0)["total"], 3);
    let chat = directory(4);
    let chat: Vec<&Value> = chat["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["ip"])
        .collect();
    assert_eq!(chat, [&json!("198.51.100.33")]);
    // A directory entry is the same NodeInfo as the organization's own list gives.
    assert_eq!(directory(4)["data"][0], node);
    assert_eq!(directory(2)["total"], 1);
    // Not an integer, an empty value included (/openapi.json publishes an integer), or
    // not decodable (refused, not read as absent: that would list every node).
    for bad in ["lots", "", "-1", "%ZZ", "%C3"] {
        let res = client_call(app, None, "GET", &format!("node?nodeServices={bad}"), None);
        assert_eq!(res.status, 400, "{bad:?}: {}", res.body);
        assert_eq!(res.json()["success"], false);
    }

    // nodeUnregister: the whole RegisterRequest, signed in the unregister form.
    let ms = now_ms() + 1;
    let mut unregister = client_registration(&key, "198.51.100.31", &org, ms, 1);
    unregister["signature"] = json!(unregister_signature(&key, "198.51.100.31", ms, &org));
    let res = client_call(app, bearer, "POST", "unregister", Some(&unregister));
    assert_eq!(
        json_reply(&res, 200),
        json!({"success": true, "message": "Node unregistered"})
    );
    assert!(node_row(app, "198.51.100.31").is_empty());
    // The same request again is a replay; a fresh one for the node that is gone: 404.
    let replay = client_call(app, bearer, "POST", "unregister", Some(&unregister));
    assert_eq!(replay.status, 400);
    unregister["timestamp"] = json!(ms + 1);
    unregister["signature"] = json!(unregister_signature(&key, "198.51.100.31", ms + 1, &org));
    let gone = client_call(app, bearer, "POST", "unregister", Some(&unregister));
    assert_eq!(
        (gone.status, gone.json()),
        (404, json!({"success": false, "message": "Node not found"}))
    );
    // The installer's ip|region|timestamp is a registration's message: sent to
    // /unregister it removes nothing (any heartbeat would otherwise be a removal).
    let seconds = now_ms() / 1000 + 2;
    let installer = installer_payload(&pem, "198.51.100.32", "id_org", &org, seconds);
    let res = installer_post(app, "/unregister", &installer);
    assert_eq!(
        (res.status, res.json()),
        (
            400,
            json!({"success": false, "message": "Invalid signature"})
        )
    );
    assert_eq!(node_row(app, "198.51.100.32").len(), 1);
    // The node leaves with the unregister message.
    let ms = now_ms() + 3_000;
    let mut leave = client_registration(&key, "198.51.100.32", &org, ms, 1);
    leave["signature"] = json!(unregister_signature(&key, "198.51.100.32", ms, &org));
    json_reply(
        &client_call(app, bearer, "POST", "unregister", Some(&leave)),
        200,
    );
    assert!(node_row(app, "198.51.100.32").is_empty());

    // deletePrivateNode: DELETE, no body.
    let path = format!("organization/{org}/node/{}", node["id"].as_str().unwrap());
    let res = client_call(app, bearer, "DELETE", &path, None);
    assert_eq!(
        json_reply(&res, 200),
        json!({"success": true, "message": "Node deleted successfully"})
    );
    let again = client_call(app, bearer, "DELETE", &path, None);
    assert_eq!(again.status, 404);
    assert_eq!(again.json()["error_code"], "NOT_FOUND");
    assert_eq!(
        app.d1_query(&format!(
            "SELECT count(*) AS n FROM nodes WHERE org_id = '{org}' \
             OR ip IN ('198.51.100.31', '198.51.100.32', '198.51.100.33')"
        ))[0]["n"],
        0
    );
}
