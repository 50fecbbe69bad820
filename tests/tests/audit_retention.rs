//! An organization's audit trail is kept for `AUDIT_RETENTION_DAYS` (400 by default),
//! not for ever: the scheduled maintenance deletes older entries, then the keys revoked
//! before then that no node names, then the erased accounts no entry names any more
//! (docs/operations.md, "Retention"). Everything is made through the routes as a
//! client makes it, then aged in D1, and the cron run as wrangler runs it.

use gatehouse_e2e::accounts::{user_id, verified_user};
use gatehouse_e2e::maintenance::run_cron;
use gatehouse_e2e::members::{account_rows, remove_member, set_role};
use gatehouse_e2e::node_env::set_env;
use gatehouse_e2e::nodes::{now_ms, register, upload_new_key};
use gatehouse_e2e::{spawn_app, TestApp};
use serde_json::{json, Value};

const DAY: i64 = 24 * 3600 * 1000;

fn revoke(app: &TestApp, token: &str, org: &str, key: &str) {
    let res = app.request_as(
        token,
        "DELETE",
        &format!("/organization/{org}/key/{key}"),
        None,
    );
    assert_eq!(res.status, 200, "{}", res.body);
}

fn key_id(uploaded: &gatehouse_e2e::TestResponse) -> String {
    uploaded.json()["data"]["id"].as_str().unwrap().to_owned()
}

#[test]
fn the_trail_keeps_its_last_400_days_and_what_only_it_named_goes_with_the_rest() {
    let app = spawn_app();
    let (boss, org, _) = verified_user(&app, "boss@audit-retention.example");
    let (bob, _, _) = verified_user(&app, "bob@audit-retention.example");
    let bob_id = user_id(&app, "bob@audit-retention.example");
    assert_eq!(set_role(&app, &boss, &org, &bob_id, 254).status, 200);
    // Bob adds two keys; a node registers with the first; the boss revokes both.
    let (named, uploaded) = upload_new_key(&app, &bob, &org);
    let named_id = key_id(&uploaded);
    assert_eq!(
        register(&app, &named, "10.48.0.1", now_ms(), Some(&org)).status,
        200
    );
    let (_, uploaded) = upload_new_key(&app, &bob, &org);
    let unnamed_id = key_id(&uploaded);
    revoke(&app, &boss, &org, &named_id);
    revoke(&app, &boss, &org, &unnamed_id);
    // Bob leaves; the trail names him as actor, so his erased row stays its anchor.
    assert_eq!(remove_member(&app, &boss, &org, &bob_id).status, 200);
    let erased = format!("erased:{bob_id}");
    assert_eq!(
        account_rows(&app, &bob_id).0.as_deref(),
        Some(erased.as_str())
    );

    // 401 days pass for all of it; one change is made today.
    app.d1_query(&format!(
        "UPDATE key_audit SET at_ms = at_ms - {old} WHERE org_id = '{org}'; \
         UPDATE org_keys SET revoked_at_ms = revoked_at_ms - {old} \
         WHERE org_id = '{org}' AND revoked_at_ms IS NOT NULL",
        old = 401 * DAY
    ));
    let aged = app.d1_query(&format!(
        "SELECT count(*) AS n FROM key_audit WHERE org_id = '{org}'"
    ));
    // A grant, two keys added and revoked, a removal.
    assert_eq!(aged[0]["n"], 6, "{aged:?}");
    assert_eq!(set_env(&app, &boss, &org, "s3", "A=1\n").status, 200);

    let line = run_cron(&app);
    let removed = &line["removed"];
    assert_eq!(
        (
            removed["key_audit"].clone(),
            removed["revoked_keys"].clone(),
            removed["erased_accounts"].clone()
        ),
        (json!(6), json!(1), json!(1)),
        "{line}"
    );
    let trail = app.request_as(&boss, "GET", &format!("/organization/{org}/audit"), None);
    assert_eq!(trail.status, 200, "{}", trail.body);
    let actions: Vec<Value> = trail.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["action"].clone())
        .collect();
    assert_eq!(actions, vec![json!("ENV_SET")], "today's change stays");
    let keys = app.d1_query(&format!("SELECT id FROM org_keys WHERE org_id = '{org}'"));
    assert_eq!(
        keys,
        vec![json!({"id": named_id})],
        "the key a node still names stays; the other went"
    );
    assert_eq!(
        account_rows(&app, &bob_id),
        (None, 0, 0),
        "nothing names Bob now"
    );
    assert_eq!(run_cron(&app)["total"], 0, "a second run has nothing left");
}
