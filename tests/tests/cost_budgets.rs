//! What a request costs in billed storage operations — D1 rows read and written (from
//! D1's result `meta`) and KV reads and writes — reported with TEST_HOOKS on in
//! `x-gatehouse-d1-rows-read`, `-d1-rows-written`, `-kv-reads`, `-kv-writes`, and held
//! to budgets here, as round_trips.rs holds round trips (docs/performance.md, "What a
//! request costs"). The heartbeat is what gatehouse does most: its budget is the point.

use gatehouse_e2e::nodes::{fields, node_row_sql, now_ms, seed_org, signed, unregister_body};
use gatehouse_e2e::{shared_app, unique, TestApp, TestResponse};
use serde_json::Value;

/// (rows read, rows written, KV reads, KV writes) of one answer.
fn cost(res: &TestResponse) -> (u64, u64, u64, u64) {
    let count = |name: &str| -> u64 {
        res.header(name)
            .unwrap_or_else(|| panic!("{name} header"))
            .parse()
            .unwrap()
    };
    (
        count("x-gatehouse-d1-rows-read"),
        count("x-gatehouse-d1-rows-written"),
        count("x-gatehouse-kv-reads"),
        count("x-gatehouse-kv-writes"),
    )
}

/// Checks one answer against its budget; returns the line for the report.
fn within_budget(
    name: &str,
    res: &TestResponse,
    status: u16,
    budget: (u64, u64, u64, u64),
) -> String {
    assert_eq!(res.status, status, "{name}: {}", res.body);
    let c = cost(res);
    assert!(
        c.0 <= budget.0 && c.1 <= budget.1 && c.2 <= budget.2 && c.3 <= budget.3,
        "{name} cost {c:?} (rows read, rows written, KV reads, KV writes), budget {budget:?}"
    );
    format!("{name}: {c:?}")
}

/// The request's log line (wrangler's log holds every request of the shared worker).
fn log_line(app: &TestApp, res: &TestResponse) -> Value {
    let needle = format!("\"requestId\":\"{}\"", res.header("x-request-id").unwrap());
    let log = app.wait_for_log(&needle);
    let line = log.lines().find(|l| l.contains(&needle)).expect("its line");
    serde_json::from_str(&line[line.find('{').unwrap()..]).unwrap()
}

#[test]
fn each_heartbeat_case_stays_within_its_cost_budget() {
    let app = shared_app();
    let org = unique("org-cost");
    let key = seed_org(app, &org, 2048);
    let ip = "192.0.2.150";
    let t = now_ms();
    let mut report = Vec::new();
    // Budgets: most (rows read, rows written, KV reads, KV writes). Writes and KV as
    // measured (docs/performance.md, "What a request costs"); rows read at twice the
    // measured count: an index probe may read a neighbour's row on a shared database,
    // while a scan (what the budget is there to catch) grows with every table.
    let mut check = |name: &str, res: &TestResponse, status: u16, budget| {
        report.push(within_budget(name, res, status, budget));
        cost(res)
    };

    // Thirty nodes the key signed elsewhere: reads that grow with them (a scan of the
    // key's nodes, of the organization's) would pass the budgets below.
    let mut others = String::new();
    for n in 0..30 {
        others.push_str(&node_row_sql(
            &org,
            &format!("10.9.0.{n}"),
            &format!("{org}-key"),
            1,
        ));
    }
    app.d1_query(&others);

    // A new node: the read, then the insert (the row and its indexes).
    let first = app.post_json("/register", &signed(&key, &fields(ip, t, Some(&org))));
    let new = check("register (new node)", &first, 200, (36, 6, 1, 1));
    assert!(new.1 > 0, "a new node is written");

    // The heartbeat: nothing changed, so nothing is written and no nonce remembered.
    let beat = app.post_json("/register", &signed(&key, &fields(ip, t + 1000, None)));
    let unchanged = check("register (warm, unchanged)", &beat, 200, (12, 0, 1, 0));
    assert_eq!(unchanged.1, 0, "a warm unchanged heartbeat writes 0 rows");
    let line = log_line(app, &beat);
    assert_eq!(
        (&line["d1RowsWritten"], &line["kvReads"], &line["kvWrites"]),
        (&Value::from(0), &Value::from(1), &Value::from(0)),
        "{line}"
    );
    assert_eq!(line["d1RowsRead"], unchanged.0, "{line}");
    let metric: Value = serde_json::from_str(beat.header("x-gatehouse-metric").unwrap()).unwrap();
    assert_eq!(
        metric["doubles"].as_array().unwrap()[5..],
        [
            Value::from(unchanged.0 as f64),
            Value::from(0.0),
            Value::from(1.0),
            Value::from(0.0)
        ],
        "the data point's double6…double9"
    );

    // A change is written at once, and its nonce remembered.
    let mut changed = fields(ip, t + 2000, None);
    changed.version = "1.5.0".into();
    let change = app.post_json("/register", &signed(&key, &changed));
    let written = check("register (warm, changed)", &change, 200, (14, 3, 1, 1));
    assert!(written.1 > 0, "a change is written");
    let stored = app.d1_query(&format!(
        "SELECT version, last_signed_at_ms FROM nodes WHERE org_id = '{org}' AND ip = '{ip}'"
    ));
    assert_eq!(
        (
            stored[0]["version"].as_str(),
            stored[0]["last_signed_at_ms"].as_i64()
        ),
        (Some("1.5.0"), Some(t + 2000))
    );

    // A replay refused by its KV nonce costs one KV read and nothing in D1. The put
    // runs after the answer: wait until the nonce is there.
    let replayed = signed(&key, &changed);
    let mut refusal = app.post_json("/register", &replayed);
    for _ in 0..50 {
        if refusal.header("x-gatehouse-d1-round-trips") == Some("0") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        refusal = app.post_json("/register", &replayed);
    }
    assert_eq!(refusal.header("x-gatehouse-d1-round-trips"), Some("0"));
    check("register (replay, KV)", &refusal, 400, (0, 0, 1, 0));
    println!(
        "Cost per request (rows read, rows written, KV reads, KV writes): {}",
        report.join(", ")
    );
}

#[test]
fn the_other_node_routes_stay_within_their_cost_budgets() {
    use serde_json::json;
    let app = shared_app();
    let org = unique("org-cost-other");
    let key = seed_org(app, &org, 2048);
    let ip = "192.0.2.151";
    let t = now_ms();
    // A network provider's new node (listed in the public directory as it is
    // inserted: migration 0022) costs what any new node does.
    app.d1_query(&format!(
        "UPDATE organizations SET network_provider = 1 WHERE id = '{org}'"
    ));
    let registered = app.post_json("/register", &signed(&key, &fields(ip, t, Some(&org))));
    // Budgets as in the heartbeat test above: writes and KV as measured, reads twice.
    let mut report = Vec::new();
    let mut check = |name: &str, res: &TestResponse, status: u16, budget| {
        report.push(within_budget(name, res, status, budget));
    };
    check(
        "register (a provider's new node)",
        &registered,
        200,
        (36, 6, 1, 1),
    );
    let listed = app.get("/node").json()["data"].clone();
    assert!(
        listed.as_array().unwrap().iter().any(|n| n["ip"] == ip),
        "{listed}"
    );
    let node_id = unique("cost-node");
    let secret = json!({"node_id": node_id, "secret": "0123456789abcdef"});
    check(
        "register_node_secret (new)",
        &app.post_json("/register_node_secret", &secret),
        200,
        // The row and its two index entries (the key, and seen_at_ms for the sweep),
        // migration 0028's count of node ids and 0029's of its network, each read
        // twice (the room, before the secret is hashed and in the insert) and written:
        // the network's first node id makes its count's row (the row and its key).
        (7, 6, 0, 0),
    );
    check(
        "register_node_secret (again)",
        &app.post_json("/register_node_secret", &secret),
        200,
        (10, 2, 0, 0),
    );
    let ts = t + 1000;
    let unregister = unregister_body(&key, ip, ts, &org);
    check(
        "unregister",
        &app.post_json("/unregister", &unregister),
        200,
        (32, 5, 1, 1),
    );
    println!(
        "Cost per request (rows read, rows written, KV reads, KV writes): {}",
        report.join(", ")
    );
}
