//! What a stranger's signed node request may make D1 read, before any signature is
//! checked: bounded however many organizations put a node at its address
//! (SECURITY.md's "Crowding out" row). A forged `/register` or `/unregister` that
//! names no organization used to read every key of every organization at the address,
//! each ordered by a walk of every node there: N organizations, N² rows.
//!
//! The organizations are seeded straight into D1, each with keys that verify nothing
//! (placeholder text, which the search skips as unusable: what is held here is how
//! many rows are read, not which key verifies) and one node at the address.

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::nodes::{node_row_sql, now_ms, register, unregister_body};
use gatehouse_e2e::{shared_app, TestApp, TestResponse};
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
    res.header("x-gatehouse-d1-rows-read")
        .expect("rows-read header")
        .parse()
        .unwrap()
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
