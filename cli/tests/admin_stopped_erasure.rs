//! `admin delete-account` after a remote run of it stopped midway (`wrangler d1
//! execute` does not promise one transaction: SECURITY.md, "Known gaps"): running it
//! again finishes the account, and the organization the stopped run left emptied and
//! renamed (`erased:<id>`, nobody in it) goes — also when the command next runs for
//! someone else, since that organization's id is in no plan any more.

mod common;

use common::{admin, ok};
use gatehouse_core::account::rows::{ORGANIZATION_HOLDINGS, PERSONAL_TABLES};
use gatehouse_e2e::accounts::{user_id, verified_user};
use gatehouse_e2e::{shared_app, TestApp};

/// What a run of `delete-account` leaves when it stops right after the person's
/// memberships went (its statements in order, cli/src/admin/sql/person.rs): the
/// person's rows gone, their sole organization's holdings gone and it renamed, the
/// membership gone; the account's own row still there.
fn stop_after_memberships(app: &TestApp, user: &str, org: &str) {
    let mut sql = String::new();
    for table in PERSONAL_TABLES {
        sql.push_str(&format!("DELETE FROM {table} WHERE user_id = '{user}';"));
    }
    for table in ORGANIZATION_HOLDINGS.iter().chain(&["subscriptions"]) {
        sql.push_str(&format!("DELETE FROM {table} WHERE org_id = '{org}';"));
    }
    sql.push_str(&format!(
        "UPDATE organizations SET name = 'erased:' || id, domain = NULL, \
         pending_domain = NULL WHERE id = '{org}'; \
         DELETE FROM org_members WHERE user_id = '{user}';"
    ));
    app.d1_query(&sql);
}

fn organizations(app: &TestApp, ids: &[&str]) -> u64 {
    let list = ids
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(", ");
    app.d1_query(&format!(
        "SELECT count(*) AS n FROM organizations WHERE id IN ({list})"
    ))[0]["n"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_stopped_erasure_is_finished_by_the_next_run_for_anyone() {
    let app = shared_app();
    let (_, ada_org, _) = verified_user(app, "ada@stopped-erasure.example");
    let (_, bob_org, _) = verified_user(app, "bob@stopped-erasure-b.example");
    let (_, cy_org, _) = verified_user(app, "cy@stopped-erasure-c.example");
    let ada = user_id(app, "ada@stopped-erasure.example");
    let bob = user_id(app, "bob@stopped-erasure-b.example");
    stop_after_memberships(app, &ada, &ada_org);
    stop_after_memberships(app, &bob, &bob_org);

    // Ada's run again: her account and her emptied organization go, and so does Bob's,
    // which no plan names any more; Cy's, which has its member, stays.
    ok(&admin(
        app,
        &["delete-account", "ada@stopped-erasure.example"],
    ));
    assert_eq!(organizations(app, &[&ada_org, &bob_org]), 0);
    assert_eq!(organizations(app, &[&cy_org]), 1);
    let left = app.d1_query(&format!(
        "SELECT count(*) AS n FROM users WHERE id = '{ada}'"
    ));
    assert_eq!(left[0]["n"], 0, "the account is finished");
    // Bob's run finishes his account; every reference still holds.
    ok(&admin(
        app,
        &["delete-account", "bob@stopped-erasure-b.example"],
    ));
    assert!(app.d1_query("PRAGMA foreign_key_check").is_empty());
}
