//! What a stranger may make D1 read through the node routes, bounded however many
//! organizations and nodes there are. A signed node request, before any signature is
//! checked, however many organizations put a node at its address (SECURITY.md's
//! "Crowding out" row): a forged `/register` or `/unregister` that names no
//! organization used to read every key of every organization at the address, each
//! ordered by a walk of every node there (N organizations, N² rows). And the public
//! directory, however many nodes organizations other than the listed providers keep
//! fresh ("Directory exposure"): it used to read every fresh node. And what any member
//! reads of their own organization, however many nodes it holds (up to `NODES_MAX`,
//! 10,000 by default): its node list and its key list's `nodeKeys` read every node,
//! sorted, on each call.
//!
//! The organizations are seeded straight into D1, each with keys that verify nothing
//! (placeholder text, which the search skips as unusable: what is held here is how
//! many rows are read, not which key verifies) and one node at the address.

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::accounts::verified_user;
use gatehouse_e2e::flashback::client_call;
use gatehouse_e2e::nodes::{node_row_sql, now_ms, register, unregister_body};
use gatehouse_e2e::seed::seq;
use gatehouse_e2e::{shared_app, TestApp, TestResponse};
use serde_json::Value;
use std::ops::Range;

const IP: &str = "198.51.100.77";
const KEYS_EACH: usize = 5;

/// Organizations `crowd-<i>` for `orgs`, each with [`KEYS_EACH`] active keys and a node
/// at [`IP`], the later ones' nodes newer.
fn crowd(app: &TestApp, orgs: Range<usize>) {
    let mut sql = String::new();
    for i in orgs {
        let org = format!("crowd-{i}");
        sql.push_str(&format!(
            "INSERT INTO organizations (id, name, created_at_ms) VALUES ('{org}', 'c', 1);"
        ));
        for k in 0..KEYS_EACH {
            sql.push_str(&format!(
                "INSERT INTO org_keys (id, org_id, public_key_pem, bits, created_at_ms) \
                 VALUES ('{org}-{k}', '{org}', 'placeholder {org} {k}', 2048, {i});"
            ));
        }
        sql.push_str(&node_row_sql(
            &org,
            IP,
            &format!("{org}-0"),
            1_000 + i as i64,
        ));
    }
    app.d1_query(&sql);
}

fn rows_read(res: &TestResponse) -> u64 {
    res.count("x-gatehouse-d1-rows-read")
}

/// The rows a forged `/register` and `/unregister` read, naming no organization, and
/// naming `crowd-7`.
fn forged_reads(app: &TestApp, stranger: &PrivateKey) -> [u64; 4] {
    let mut reads = [0; 4];
    for (i, id_org) in [None, Some("crowd-7")].into_iter().enumerate() {
        let refused = register(app, stranger, IP, now_ms(), id_org);
        assert_eq!(refused.status, 400, "{}", refused.body);
        reads[2 * i] = rows_read(&refused);
        let mut body = unregister_body(stranger, IP, now_ms(), id_org.unwrap_or(""));
        if id_org.is_none() {
            body.as_object_mut().unwrap().remove("id_org");
        }
        let refused = app.post_json("/unregister", &body);
        assert_eq!(refused.status, 400, "{}", refused.body);
        reads[2 * i + 1] = rows_read(&refused);
    }
    reads
}

#[test]
fn a_forged_node_request_reads_no_more_however_many_organizations_share_its_address() {
    let app = shared_app();
    let stranger = PrivateKey::generate(2048).unwrap();
    crowd(app, 0..40);
    let at_40 = forged_reads(app, &stranger);
    // The address's ten earliest nodes and their organizations' 50 keys, each read a
    // few times (~200 rows): the read before this bound took 40² × 5 = 8,000.
    assert!(at_40.iter().all(|&rows| rows <= 400), "{at_40:?}");
    crowd(app, 40..160);
    let at_160 = forged_reads(app, &stranger);
    // Four times the organizations: the same reads, within a row or two (the read
    // before this bound grew sixteen-fold).
    for (more, fewer) in at_160.iter().zip(at_40) {
        assert!(*more <= fewer + 5, "{at_160:?} against {at_40:?}");
    }
}

/// Nodes of organization `org` at the first `count` addresses `10.<net>.x.y`, the n-th
/// seen n ms before now (the ones it has already kept as they are).
fn fresh_nodes(app: &TestApp, org: &str, net: u8, count: u32) {
    let now = now_ms();
    app.d1_query(&format!(
        "INSERT OR IGNORE INTO organizations (id, name, created_at_ms) VALUES ('{org}', 'n', 1); \
         INSERT OR IGNORE INTO org_keys (id, org_id, public_key_pem, bits, created_at_ms) \
         VALUES ('{org}-key', '{org}', 'placeholder {org}', 2048, 1); \
         {} INSERT OR IGNORE INTO nodes (org_id, ip, provider, status, region, version, \
         key_id, last_signed_at_ms, created_at_ms, updated_at_ms) SELECT '{org}', \
         '10.{net}.' || (n / 250) || '.' || (n % 250 + 1), 'S3', 'online', 'eu-1', '1', \
         '{org}-key', 1, {now}, {now} - n FROM seq",
        seq(0, count)
    ));
}

/// The directory's answer: its addresses, sorted, and the rows it read.
fn directory(app: &TestApp) -> (Vec<String>, u64) {
    let (ips, res) = gatehouse_e2e::nodes::directory(app);
    (ips, rows_read(&res))
}

fn set(app: &TestApp, org: &str, column: &str, value: u8) -> Vec<Value> {
    app.d1_query(&format!(
        "UPDATE organizations SET {column} = {value} WHERE id = '{org}'"
    ))
}

/// The public directory reads the listed providers' nodes and no other organization's,
/// however many those keep fresh; an operator's mark, unmark, ban and unban move an
/// organization's nodes in and out of it at once, new nodes included.
#[test]
fn the_directory_reads_only_the_nodes_it_lists() {
    let app = shared_app();
    fresh_nodes(app, "provider", 1, 3);
    set(app, "provider", "network_provider", 1);
    fresh_nodes(app, "private", 2, 1_000);
    let (listed, at_1000) = directory(app);
    assert_eq!(listed, ["10.1.0.1", "10.1.0.2", "10.1.0.3"]);
    fresh_nodes(app, "private-too", 3, 2_000);
    let (listed, at_3000) = directory(app);
    assert_eq!(listed.len(), 3);
    // Three nodes and their organization, a few rows each: not the thousands of
    // private nodes beside them (the read before this index took every fresh node).
    assert!(at_1000 <= 20, "{at_1000}");
    assert_eq!(at_3000, at_1000, "3,000 private nodes read as 1,000");

    // A node the provider adds later is listed; a ban or an unmark takes them all out,
    // an unban or a mark puts them back.
    fresh_nodes(app, "provider", 1, 4);
    assert_eq!(directory(app).0.len(), 4);
    for (column, out, back) in [("banned", 1, 0), ("network_provider", 0, 1)] {
        set(app, "provider", column, out);
        assert_eq!(directory(app).0, Vec::<String>::new(), "{column} = {out}");
        set(app, "provider", column, back);
        assert_eq!(directory(app).0.len(), 4, "{column} = {back}");
    }
    // Marking the private organization lists its newest 500 (the directory's limit).
    set(app, "private", "network_provider", 1);
    assert_eq!(directory(app).0.len(), 500);
}

/// A member's own lists read a page of the organization's nodes, however many it has:
/// `GET …/nodes` (as the Flashback client asks, with no parameters) pages by address,
/// every node listed once across the pages and last seen first within each, `total`
/// all of them; `GET …/key` names the first page's in `nodeKeys`.
#[test]
fn an_organizations_own_lists_read_a_page_however_many_nodes_it_has() {
    let app = shared_app();
    let (token, org, _) = verified_user(app, "ops@node-pages.example");
    let get = |path: &str| {
        let res = client_call(
            app,
            Some(&token),
            "GET",
            &format!("organization/{org}/{path}"),
            None,
        );
        assert_eq!(res.status, 200, "{path}: {}", res.body);
        res
    };
    let addresses = |res: &TestResponse| -> Vec<String> {
        let body = res.json();
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["ip"].as_str().unwrap().to_owned())
            .collect()
    };
    let node_keys =
        |res: &TestResponse| res.json()["data"][0]["nodeKeys"].as_array().unwrap().len();

    // Up to a page: every node in one answer, last seen first, as before pages.
    fresh_nodes(app, &org, 41, 300);
    let all = get("nodes");
    let listed = addresses(&all);
    assert_eq!(listed.len(), 300);
    assert_eq!(
        (all.json()["total"].as_u64(), all.json()["next"].clone()),
        (Some(300), Value::Null)
    );
    assert_eq!(listed[0], "10.41.0.1", "the newest first");
    assert_eq!(listed[299], "10.41.1.50", "the oldest last");

    // Past a page: a thousand, then the rest after the first page's last address.
    fresh_nodes(app, &org, 41, 1_200);
    let first = get("nodes");
    let next = first.json()["next"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let second = get(&format!("nodes?after={next}"));
    assert_eq!(second.json()["next"], Value::Null);
    let (mut one, two) = (addresses(&first), addresses(&second));
    assert_eq!(
        (one.len(), two.len(), first.json()["total"].as_u64()),
        (1_000, 200, Some(1_200))
    );
    one.extend(two);
    one.sort();
    one.dedup();
    assert_eq!(one.len(), 1_200, "each node once");
    let (nodes_at_1200, keys_at_1200) = (rows_read(&first), rows_read(&get("key")));
    assert_eq!(node_keys(&get("key")), 1_000);

    // Two and a half times the nodes: the same rows read, within a few.
    fresh_nodes(app, &org, 41, 3_000);
    let (nodes_at_3000, keys) = (rows_read(&get("nodes")), get("key"));
    assert!(
        nodes_at_3000 <= nodes_at_1200 + 5,
        "{nodes_at_3000} against {nodes_at_1200}"
    );
    assert!(
        rows_read(&keys) <= keys_at_1200 + 5,
        "{} against {keys_at_1200}",
        rows_read(&keys)
    );
    // A page (and the one after it) read by address, then again from the temporary
    // table SQLite sorts it in by last seen, and a few rows: ~2,000, not 3,000.
    assert!(
        nodes_at_1200 <= 2_100,
        "a page twice and a few rows: {nodes_at_1200}"
    );
    assert_eq!(node_keys(&keys), 1_000);

    // A smaller page; what is not a page is refused.
    let ten = get("nodes?limit=10");
    assert_eq!(addresses(&ten).len(), 10);
    assert!(ten.json()["next"].is_string());
    for query in [
        "limit=0",
        "limit=1001",
        "limit=ten",
        "after=node-7",
        "after=%ZZ",
        "after=%C3",
    ] {
        let res = client_call(
            app,
            Some(&token),
            "GET",
            &format!("organization/{org}/nodes?{query}"),
            None,
        );
        assert_eq!(res.status, 400, "{query}: {}", res.body);
        assert_eq!(res.json()["error_code"], "INVALID_INPUT", "{query}");
    }
}
