//! POST /register_node_secret end to end: FastAPI-identical errors, hashing,
//! idempotency, conflicts and the race between first registrations.
//!
//! Tests with node ids of their own share one worker; the constrained model and the
//! production KDF need their own `[vars]`.

use base64::Engine;
use gatehouse_e2e::maintenance::{run_cron, DAY};
use gatehouse_e2e::nodes::now_ms;
use gatehouse_e2e::{shared_app, spawn_app_with, unique};
use serde_json::{json, Value};

const PATH: &str = "/register_node_secret";

/// Sends every refused request of a golden table (answered by the real FastAPI, see
/// tests/fastapi_golden) to `app` and compares status and bytes.
fn refusals_match(app: &gatehouse_e2e::TestApp, fixtures: &Value) {
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in fixtures["cases"].as_array().unwrap() {
        if case["status"] == 200 {
            continue; // successes register nodes; they are covered below
        }
        let body = base64::engine::general_purpose::STANDARD
            .decode(case["body_b64"].as_str().unwrap())
            .unwrap();
        let headers: Vec<(&str, &str)> = case["content_type"]
            .as_str()
            .map(|ct| vec![("content-type", ct)])
            .unwrap_or_default();
        let res = app.request("POST", PATH, &headers, Some(&body));
        checked += 1;
        if res.status as u64 != case["status"].as_u64().unwrap()
            || res.body != case["response"].as_str().unwrap()
        {
            failures.push(format!(
                "{}: want {} {}\n  got {} {}",
                case["name"], case["status"], case["response"], res.status, res.body
            ));
        }
    }
    assert!(checked > 300, "{checked} refusals checked");
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_fastapi_error_answer_is_reproduced_byte_for_byte() {
    let fixtures: Value =
        serde_json::from_str(include_str!("../fastapi_golden/fixtures.json")).unwrap();
    refusals_match(shared_app(), &fixtures);
}

#[test]
fn with_length_settings_the_answers_are_those_of_the_constrained_model() {
    let fixtures: Value =
        serde_json::from_str(include_str!("../fastapi_golden/fixtures_constrained.json")).unwrap();
    let settings: Vec<(String, String)> = fixtures["settings"]
        .as_object()
        .expect("the constrained table names its settings")
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    let vars: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    refusals_match(&spawn_app_with(&vars), &fixtures);
}

#[test]
fn infera_accepts_any_string_for_either_field() {
    let app = shared_app();
    for (node_id, secret) in [
        ("n", "abc"),
        ("", ""),
        ("long", "s".repeat(60_000).as_str()),
    ] {
        let res = app.post_json(PATH, &json!({"node_id": node_id, "secret": secret}));
        assert_eq!(res.status, 200, "{node_id:?}: {}", res.body);
        assert_eq!(res.json(), json!({"node_id": node_id, "registered": true}));
    }
}

#[test]
fn registers_hashes_and_is_idempotent_then_refuses_another_secret() {
    let app = shared_app();
    let body = json!({"node_id": "node-α", "secret": "0123456789abcdef-secret"});
    let first = app.post_json(PATH, &body);
    assert_eq!(
        (first.status, first.body.as_str()),
        (200, r#"{"node_id":"node-α","registered":true}"#)
    );
    assert_eq!(first.header("content-type"), Some("application/json"));

    let again = app.post_json(PATH, &body);
    assert_eq!(again.status, 200, "same secret again is idempotent");

    let other = app.post_json(
        PATH,
        &json!({"node_id": "node-α", "secret": "another-secret-0123"}),
    );
    assert_eq!(
        (other.status, other.body.as_str()),
        (409, r#"{"detail":"Node already registered"}"#)
    );

    let rows =
        app.d1_query("SELECT node_id, secret_hash FROM node_secrets WHERE node_id = 'node-α'");
    assert_eq!(rows.len(), 1);
    let stored = rows[0]["secret_hash"].as_str().unwrap();
    assert!(stored.starts_with("$pbkdf2-sha512$i=1000$"), "{stored}");
    assert!(
        !stored.contains("0123456789abcdef-secret"),
        "never stored in clear"
    );
    // One KDF run per request, whatever the outcome: a known node_id is verified,
    // never hashed first and verified after.
    let kdf_runs =
        |res: &gatehouse_e2e::TestResponse| res.header("x-gatehouse-kdf-runs").map(str::to_owned);
    assert_eq!(kdf_runs(&first).as_deref(), Some("1"), "new: hashed once");
    assert_eq!(
        kdf_runs(&again).as_deref(),
        Some("1"),
        "again: verified once"
    );
    assert_eq!(
        kdf_runs(&other).as_deref(),
        Some("1"),
        "conflict: verified once"
    );
}

#[test]
fn a_node_id_not_registered_again_for_the_removal_period_goes_and_is_new_again() {
    // Anyone may add node ids, so they are not kept for good: one whose node has not
    // registered again for NODE_REMOVE_AFTER_DAYS (30) goes, as a silent node does.
    let app = shared_app();
    let ids = [
        unique("node-silent"),
        unique("node-again"),
        unique("node-guessed"),
    ];
    let [silent, again, guessed] = &ids;
    let register = |id: &str, secret: &str| {
        app.post_json(PATH, &json!({"node_id": id, "secret": secret}))
            .status
    };
    for id in &ids {
        assert_eq!(register(id, "the-first-secret"), 200);
    }
    let seen = |id: &str| {
        app.d1_query(&format!(
            "SELECT seen_at_ms FROM node_secrets WHERE node_id = '{id}'"
        ))
        .first()
        .map(|row| row["seen_at_ms"].as_i64().unwrap())
    };
    // All as if last registered 31 days ago. Then one registers again, and someone
    // else guesses at another: each comparison marks its node id, a wrong one too, so
    // guesses that lock a node id out of its own node's registrations (429) cannot make
    // it lapse meanwhile.
    let long_ago = now_ms() - 31 * DAY;
    app.d1_query(&format!(
        "UPDATE node_secrets SET created_at_ms = {long_ago}, seen_at_ms = {long_ago} \
         WHERE node_id IN ('{silent}', '{again}', '{guessed}')"
    ));
    assert_eq!(register(again, "the-first-secret"), 200);
    assert_eq!(register(guessed, "a-wrong-secret"), 409);
    for id in [again, guessed] {
        assert!(seen(id).unwrap() > now_ms() - 60_000, "{id} marked");
    }
    assert_eq!(seen(silent), Some(long_ago));

    run_cron(app);
    assert_eq!(seen(silent), None, "not registered again: gone");
    assert!(
        seen(again).is_some() && seen(guessed).is_some(),
        "marked: kept"
    );
    // The node id that went is a new one: its next registration is a first one.
    assert_eq!(register(silent, "another-secret"), 200);
    assert_eq!(register(silent, "the-first-secret"), 409);
}

/// Anyone may add node ids, so at most `NODE_SECRETS_MAX` are held at once (migration
/// 0028): past it a new one is refused 503 with `Retry-After` and nothing stored,
/// registered ones are answered as before, room the sweep frees is taken again, and
/// new ids racing for the last place never pass the bound together.
#[test]
fn node_ids_are_held_up_to_a_bound_and_registered_ones_keep_working() {
    // The primary 400 ms away, so that racing new ids all find room in their first
    // read (a replica's) before any insert lands: the insert itself must hold the bound.
    let app = spawn_app_with(&[("NODE_SECRETS_MAX", "3"), ("D1_LATENCY_MS", "400")]);
    let number = |sql: &str, column: &str| app.d1_query(sql)[0][column].as_i64().unwrap();
    let held = || {
        number(
            "SELECT row_count FROM row_counts WHERE table_name = 'node_secrets'",
            "row_count",
        )
    };
    let stored = || number("SELECT count(*) AS n FROM node_secrets", "n");
    let register =
        |id: &str, secret: &str| app.post_json(PATH, &json!({"node_id": id, "secret": secret}));
    assert_eq!((held(), stored()), (0, 0));
    for id in ["node-a", "node-b", "node-c"] {
        assert_eq!(register(id, "the-first-secret").status, 200);
    }
    assert_eq!(held(), 3);

    let full = register("node-d", "the-first-secret");
    assert_eq!(full.status, 503, "{}", full.body);
    // FastAPI's HTTPException shape, with the request id every 5xx body carries.
    assert_eq!(
        full.json(),
        json!({"detail": "Node registrations are full; try again later",
               "requestId": full.header("x-request-id").unwrap()})
    );
    assert_eq!(full.header("retry-after"), Some("3600"));
    assert_eq!(full.header("content-type"), Some("application/json"));
    assert_eq!(stored(), 3, "nothing stored");
    assert_eq!(register("node-a", "the-first-secret").status, 200);
    assert_eq!(register("node-b", "a-wrong-secret").status, 409);

    // The sweep removes a node id not registered again for 30 days: counted out.
    let long_ago = now_ms() - 31 * DAY;
    app.d1_query(&format!(
        "UPDATE node_secrets SET created_at_ms = {long_ago}, seen_at_ms = {long_ago} \
         WHERE node_id = 'node-c'"
    ));
    run_cron(&app);
    assert_eq!((held(), stored()), (2, 2));

    // Ten new node ids at once for the one place left: one gets it.
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let racing: Vec<_> = (0..10)
            .map(|i| scope.spawn(move || register(&format!("racer-{i}"), "a-secret").status))
            .collect();
        racing.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let count = |status| statuses.iter().filter(|s| **s == status).count();
    assert_eq!((count(200), count(503)), (1, 9), "{statuses:?}");
    assert_eq!((held(), stored()), (3, 3));
}

/// One network (an IPv4 /24, an IPv6 /48) holds at most `NODE_SECRETS_PER_NETWORK`
/// node ids (migration 0029): past it its new ones are refused 429 with `Retry-After`,
/// nothing stored, while other networks and the node ids it holds are answered as
/// before; the sweep gives its share back, and a network's count goes with its last
/// node id.
#[test]
fn each_network_holds_a_share_of_node_ids() {
    let app = spawn_app_with(&[("NODE_SECRETS_PER_NETWORK", "2")]);
    let register = |ip: &str, id: &str, secret: &str| {
        let body = json!({"node_id": id, "secret": secret}).to_string();
        app.request(
            "POST",
            PATH,
            &[
                ("content-type", "application/json"),
                ("cf-connecting-ip", ip),
            ],
            Some(body.as_bytes()),
        )
    };
    let count = |network: &str| {
        app.d1_query(&format!(
            "SELECT row_count FROM row_counts WHERE table_name = 'node_secrets@{network}'"
        ))
        .first()
        .map(|row| row["row_count"].as_i64().unwrap())
    };
    for (ip, id) in [("203.0.113.5", "v4-a"), ("203.0.113.6", "v4-b")] {
        assert_eq!(register(ip, id, "the-first-secret").status, 200);
    }
    assert_eq!(count("203.0.113.0/24"), Some(2));
    // Another address of the same /24: its share is spent.
    let refused = register("203.0.113.200", "v4-c", "the-first-secret");
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(
        refused.body,
        r#"{"detail":"Too many node ids registered from this network; try again later"}"#
    );
    assert_eq!(refused.header("retry-after"), Some("3600"));
    let stored = app.d1_query("SELECT node_id FROM node_secrets WHERE node_id = 'v4-c'");
    assert!(stored.is_empty(), "nothing stored");
    // Its node ids answer as before; another network has its own share.
    assert_eq!(
        register("203.0.113.200", "v4-a", "the-first-secret").status,
        200
    );
    assert_eq!(
        register("203.0.113.200", "v4-b", "a-wrong-secret").status,
        409
    );
    assert_eq!(
        register("198.51.100.7", "v4-c", "the-first-secret").status,
        200
    );
    // IPv6: the /48, whichever /64 sends.
    assert_eq!(register("2001:db8:1:1::1", "v6-a", "s").status, 200);
    assert_eq!(register("2001:db8:1:2::1", "v6-b", "s").status, 200);
    assert_eq!(register("2001:db8:1:3::1", "v6-c", "s").status, 429);
    assert_eq!(register("2001:db8:2::1", "v6-c", "s").status, 200);

    // The sweep removes one of the /24's node ids: its share has room again. A
    // network whose last node id goes keeps no count.
    let long_ago = now_ms() - 31 * DAY;
    app.d1_query(&format!(
        "UPDATE node_secrets SET created_at_ms = {long_ago}, seen_at_ms = {long_ago} \
         WHERE node_id IN ('v4-b', 'v4-c')"
    ));
    run_cron(&app);
    assert_eq!(count("203.0.113.0/24"), Some(1));
    assert_eq!(count("198.51.100.0/24"), None);
    assert_eq!(
        register("203.0.113.9", "v4-d", "the-first-secret").status,
        200
    );
}

#[test]
fn concurrent_first_registrations_store_exactly_one_secret() {
    let app = shared_app();
    let threads: Vec<_> = (0..20)
        .map(|i| {
            std::thread::spawn(move || {
                app.post_json(
                    PATH,
                    &json!({"node_id": "contended", "secret": format!("secret-number-{i:04}")}),
                )
                .status
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    // Every other one is a wrong secret for a taken id: 409, until ten of them have
    // locked the id against guessing (then 429, SECURITY.md "Guessing node secrets").
    let conflicts = statuses.iter().filter(|s| **s == 409).count();
    let locked = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(conflicts + locked, 19, "{statuses:?}");
    assert!(conflicts >= 10, "{statuses:?}");
    let rows = app.d1_query("SELECT count(*) AS n FROM node_secrets WHERE node_id = 'contended'");
    assert_eq!(rows[0]["n"], 1);
}

#[test]
fn production_kdf_setting_works_in_workerd() {
    // The one test at the real cost: PBKDF2-HMAC-SHA512, 210 000 iterations, in wasm.
    let app = gatehouse_e2e::spawn_app_with(&[("PASSWORD_KDF_ITERATIONS", "210000")]);
    let res = app.post_json(
        PATH,
        &json!({"node_id": "n-prod", "secret": "0123456789abcdef"}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    let rows = app.d1_query("SELECT secret_hash FROM node_secrets");
    assert!(rows[0]["secret_hash"]
        .as_str()
        .unwrap()
        .starts_with("$pbkdf2-sha512$i=210000$"));
    assert_eq!(
        app.post_json(
            PATH,
            &json!({"node_id": "n-prod", "secret": "0123456789abcdef"})
        )
        .status,
        200
    );
}

#[test]
fn wrong_method_and_oversized_body_use_fastapi_shapes() {
    let app = shared_app();
    let res = app.get(PATH);
    assert_eq!(
        (res.status, res.body.as_str()),
        (405, r#"{"detail":"Method Not Allowed"}"#)
    );
    let big = format!(r#"{{"node_id":"n","secret":"{}"}}"#, "x".repeat(70_000));
    let res = app.request(
        "POST",
        PATH,
        &[("content-type", "application/json")],
        Some(big.as_bytes()),
    );
    assert_eq!(res.status, 413);
    assert!(res.json()["detail"].as_str().unwrap().contains("65536"));
}
