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
use gatehouse_e2e::{spawn_app, TestApp, TestResponse};
use serde_json::json;

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

fn key_id(uploaded: &TestResponse) -> String {
    uploaded.json()["data"]["id"].as_str().unwrap().to_owned()
}

/// Moves the organization's audit entries and revocations of the last hour `days`
/// back: what was done just now then looks that old.
fn age(app: &TestApp, org: &str, days: i64) {
    let hour_ago = now_ms() - 3600 * 1000;
    app.d1_query(&format!(
        "UPDATE key_audit SET at_ms = at_ms - {old} WHERE org_id = '{org}' \
         AND at_ms > {hour_ago}; \
         UPDATE org_keys SET revoked_at_ms = revoked_at_ms - {old} WHERE org_id = '{org}' \
         AND revoked_at_ms > {hour_ago}",
        old = days * DAY
    ));
}

#[test]
fn the_trail_keeps_its_last_400_days_and_what_only_it_named_goes_with_the_rest() {
    let app = spawn_app();
    let (boss, org, _) = verified_user(&app, "boss@audit-retention.example");
    let made_admin = |email: &str| {
        let (token, _, _) = verified_user(&app, email);
        let id = user_id(&app, email);
        assert_eq!(set_role(&app, &boss, &org, &id, 254).status, 200);
        (token, id)
    };

    // 401 days ago: Bob adds two keys, a node registers with the first, the boss
    // revokes both, and Bob leaves (his erased row stays as the trail's anchor).
    let (bob, bob_id) = made_admin("bob@audit-retention.example");
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
    assert_eq!(remove_member(&app, &boss, &org, &bob_id).status, 200);
    let erased = format!("erased:{bob_id}");
    assert_eq!(
        account_rows(&app, &bob_id).0.as_deref(),
        Some(erased.as_str())
    );
    age(&app, &org, 401);
    // A sign-in a request wrote while the operator's erasure ran (not one transaction).
    app.d1_query(&format!(
        "INSERT INTO sign_ins (id, user_id, token_id, token_hash, created_at_ms, \
         last_used_ms, expires_at_ms) VALUES ('si-stray', '{bob_id}', 'tok-stray', 'h', 0, 0, {})",
        now_ms() + DAY
    ));

    // 399 days ago: a key added and revoked; Cy made ADMINISTRATOR, sets an
    // environment and leaves.
    let (_, uploaded) = upload_new_key(&app, &boss, &org);
    let recent_id = key_id(&uploaded);
    revoke(&app, &boss, &org, &recent_id);
    let (cy, cy_id) = made_admin("cy@audit-retention.example");
    assert_eq!(set_env(&app, &cy, &org, "gcs", "A=1\n").status, 200);
    assert_eq!(remove_member(&app, &boss, &org, &cy_id).status, 200);
    age(&app, &org, 399);
    // Today: one more change.
    assert_eq!(set_env(&app, &boss, &org, "s3", "A=1\n").status, 200);

    let line = run_cron(&app);
    let removed = &line["removed"];
    assert_eq!(
        [
            &removed["key_audit"],
            &removed["revoked_keys"],
            &removed["erased_accounts"]
        ],
        [&json!(6), &json!(1), &json!(1)],
        "Bob's grant, two keys added and revoked, his removal; the unnamed key; Bob: {line}"
    );
    let trail = app.request_as(&boss, "GET", &format!("/organization/{org}/audit"), None);
    assert_eq!(trail.status, 200, "{}", trail.body);
    let entries = trail.json()["data"].as_array().unwrap().clone();
    assert_eq!(
        entries.len(),
        6,
        "399 days' five and today's one: {entries:?}"
    );
    assert_eq!(entries[0]["action"], "ENV_SET", "today's, newest first");
    let keys = app.d1_query(&format!(
        "SELECT id FROM org_keys WHERE org_id = '{org}' ORDER BY id = '{named_id}' DESC"
    ));
    assert_eq!(
        keys,
        vec![json!({"id": named_id}), json!({"id": recent_id})],
        "the key a node still names, and the one revoked 399 days ago, stay"
    );
    assert_eq!(
        account_rows(&app, &bob_id),
        (None, 0, 0),
        "nothing names Bob now"
    );
    let cy_erased = format!("erased:{cy_id}");
    assert_eq!(
        account_rows(&app, &cy_id).0.as_deref(),
        Some(cy_erased.as_str()),
        "the trail still names Cy"
    );
    assert_eq!(run_cron(&app)["total"], 0, "a second run has nothing left");
}
