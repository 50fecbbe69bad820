//! Service environments are credentials (issue 27): who may set, list and delete them
//! (`/organization/{idOrg}/node-env[/{service}]`), and what anyone else gets — a
//! stranger, a member without the role, another organization's OWNER, an unverified
//! address, a banned organization — and bodies no client should send; and the day's
//! budget of changes one token can make. Each answer named in SECURITY.md.

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::accounts::{assert_error, sign_up, verified_user};
use gatehouse_e2e::node_env::{set_all_envs, set_env};
use gatehouse_e2e::nodes::{now_ms, upload_new_key};
use gatehouse_e2e::seed::seq;
use gatehouse_e2e::{shared_app, TestApp};
use serde_json::json;

fn env_path(org: &str, service: &str) -> String {
    format!("/organization/{org}/node-env/{service}")
}

/// Every node-env call of `token` on `org`: (method, path, status, error code).
fn each_call(app: &TestApp, token: &str, org: &str, status: u16, code: &str) {
    let put = set_env(app, token, org, "s3", "A=1\n");
    assert_error(&put, status, code);
    let list = app.request_as(token, "GET", &format!("/organization/{org}/node-env"), None);
    assert_error(&list, status, code);
    let delete = app.request_as(token, "DELETE", &env_path(org, "s3"), None);
    assert_error(&delete, status, code);
}

/// The organization's stored environments, as D1 has them.
fn stored(app: &TestApp, org: &str) -> Vec<serde_json::Value> {
    app.d1_query(&format!(
        "SELECT service, sealed FROM node_envs WHERE org_id = '{org}' ORDER BY service"
    ))
}

#[test]
fn only_the_organizations_owner_or_administrator_touches_its_environments() {
    let app = shared_app();
    let (owner, org, _) = verified_user(app, "owner@env-roles.example");
    set_all_envs(app, &owner, &org);
    let before = stored(app, &org);

    // No token, a forged one.
    let res = app.request("GET", &format!("/organization/{org}/node-env"), &[], None);
    assert_eq!(res.status, 401, "{}", res.body);
    each_call(app, "not.a.token", &org, 401, "UNAUTHORIZED");

    // Another organization's OWNER.
    let (other, _, _) = verified_user(app, "owner@env-other.example");
    each_call(app, &other, &org, 403, "FORBIDDEN");

    // A member of this organization without the role.
    let (member, _, body) = verified_user(app, "member@env-member.example");
    let user_id = body["user"]["id"].as_str().expect("user id");
    app.d1_query(&format!(
        "INSERT INTO org_members (org_id, user_id, role, created_at_ms) \
         VALUES ('{org}', '{user_id}', 'MEMBER', 0)"
    ));
    each_call(app, &member, &org, 403, "FORBIDDEN");

    // An ADMINISTRATOR may.
    app.d1_query(&format!(
        "UPDATE org_members SET role = 'ADMINISTRATOR' WHERE org_id = '{org}' AND user_id = '{user_id}'"
    ));
    let res = set_env(app, &member, &org, "blob", "BLOB=admin\n");
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(
        !res.body.contains("BLOB=admin"),
        "the answer never repeats the file"
    );

    // Nothing the refused calls sent changed a row (in service order: blob, gcs, s3).
    let after = stored(app, &org);
    assert_eq!(after[0]["service"], "blob");
    assert_ne!(before[0], after[0], "blob: only the administrator's change");
    assert_eq!(before[1..], after[1..]);
}

#[test]
fn an_unverified_owner_or_a_banned_organization_changes_nothing() {
    let app = shared_app();
    let body = sign_up(app, "fresh@env-unverified.example");
    let token = body["accessToken"].as_str().unwrap();
    let org = body["user"]["orgId"].as_str().unwrap();
    each_call(app, token, org, 403, "EMAIL_NOT_VERIFIED");

    let (owner, org, _) = verified_user(app, "owner@env-banned.example");
    set_all_envs(app, &owner, &org);
    app.d1_query(&format!(
        "UPDATE organizations SET banned = 1 WHERE id = '{org}'"
    ));
    let before = stored(app, &org);
    each_call(app, &owner, &org, 403, "ORG_BANNED");
    assert_eq!(stored(app, &org), before);
}

#[test]
fn bodies_and_services_no_client_should_send_are_refused_by_name() {
    let app = shared_app();
    let (owner, org, _) = verified_user(app, "owner@env-bodies.example");
    let put_raw = |service: &str, body: &[u8]| {
        let auth = format!("Bearer {owner}");
        app.request(
            "PUT",
            &env_path(&org, service),
            &[
                ("content-type", "application/json"),
                ("authorization", &auth),
            ],
            Some(body),
        )
    };
    for (body, says) in [
        (&b"{\"env\": "[..], "Invalid JSON body"),
        (b"{}", "Missing required field: env"),
        (b"{\"env\": 42}", "expected a string"),
        (b"{\"env\": \"\"}", "empty"),
        (b"{\"env\": \"A=\\u0000\"}", "NUL"),
    ] {
        let res = put_raw("s3", body);
        assert_error(&res, 400, "INVALID_INPUT");
        assert!(
            res.json()["message"].as_str().unwrap().contains(says),
            "{}",
            res.body
        );
    }
    // 32 KiB is the limit; one byte more is refused and names it.
    let max = "x".repeat(32 * 1024);
    assert_eq!(set_env(app, &owner, &org, "gcs", &max).status, 200);
    let res = set_env(app, &owner, &org, "gcs", &format!("{max}y"));
    assert_error(&res, 400, "INVALID_INPUT");
    assert!(res.body.contains("at most 32768"), "{}", res.body);
    // A body over the request limit: 413 before it is read.
    let res = put_raw(
        "gcs",
        format!("{{\"env\": \"{}\"}}", "x".repeat(70 * 1024)).as_bytes(),
    );
    assert_eq!(res.status, 413, "{}", res.body);
    // Services are exactly s3, gcs, blob.
    for service in ["S3", "azure", "s3%2F..", "blob.json"] {
        let res = set_env(app, &owner, &org, service, "A=1\n");
        assert_error(&res, 404, "NOT_FOUND");
    }
    let res = app.request_as(&owner, "DELETE", &env_path(&org, "ftp"), None);
    assert_error(&res, 404, "NOT_FOUND");
    // The stored gcs file is still the 32 KiB one.
    let rows = app.d1_query(&format!(
        "SELECT service, size_bytes FROM node_envs WHERE org_id = '{org}'"
    ));
    assert_eq!(rows, vec![json!({"service": "gcs", "size_bytes": 32768})]);
}

/// A day of changes (core::org_changes: 100 audit rows in 24 hours) bounds what one
/// token can add to D1 by looping uploads and environment writes; revoking and
/// deleting, the ways back, are never refused.
#[test]
fn an_organizations_day_of_changes_is_bounded_and_undoing_never_is() {
    let app = shared_app();
    let (owner, org, _) = verified_user(app, "owner@env-budget.example");
    let (_, uploaded) = upload_new_key(app, &owner, &org);
    let key_id = uploaded.json()["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(set_env(app, &owner, &org, "s3", "A=1\n").status, 200);
    // 98 more changes, made over the last day (the oldest 23 hours ago): 100 in all.
    let now = now_ms();
    app.d1_query(&format!(
        "{} INSERT INTO key_audit (id, org_id, key_id, actor_user_id, action, at_ms) \
         SELECT 'budget-' || n, '{org}', 's3', NULL, 'ENV_SET', {} + n FROM seq",
        seq(1, 98),
        now - 23 * 3600 * 1000
    ));
    let rows_of_org = |table: &str| {
        app.d1_query(&format!(
            "SELECT count(*) AS n FROM {table} WHERE org_id = '{org}'"
        ))[0]["n"]
            .as_i64()
            .unwrap()
    };
    let audit = || rows_of_org("key_audit");
    let keys = || rows_of_org("org_keys");
    let (audited, stored_keys) = (audit(), keys());
    assert_eq!(audited, 100);

    // Adding a key (uploaded or generated) and setting an environment: 429, with when.
    let key = PrivateKey::generate(2048).expect("RSA key");
    let upload = app.post_json_as(
        &owner,
        &format!("/organization/{org}/key"),
        &json!({"publicKey": key.public_key().to_spki_pem()}),
    );
    let generate = app.request_as(&owner, "POST", &format!("/organization/{org}/key"), None);
    let put = set_env(app, &owner, &org, "gcs", "B=2\n");
    for refused in [&upload, &generate, &put] {
        assert_error(refused, 429, "RATE_LIMITED");
        let retry: i64 = refused.header("retry-after").unwrap().parse().unwrap();
        assert!(
            (3500..=3610).contains(&retry),
            "{retry} s: the oldest leaves in ~1 h"
        );
    }
    assert_eq!((audit(), keys()), (audited, stored_keys), "nothing stored");
    assert_eq!(stored(app, &org).len(), 1, "the gcs file was not set");

    // The ways back still work (and count).
    let revoke = app.request_as(
        &owner,
        "DELETE",
        &format!("/organization/{org}/key/{key_id}"),
        None,
    );
    assert_eq!(revoke.status, 200, "{}", revoke.body);
    let delete = app.request_as(&owner, "DELETE", &env_path(&org, "s3"), None);
    assert_eq!(delete.status, 200, "{}", delete.body);
    assert_eq!(audit(), audited + 2);

    // A day later the budget is back.
    app.d1_query(&format!(
        "UPDATE key_audit SET at_ms = at_ms - 25 * 3600 * 1000 WHERE org_id = '{org}'"
    ));
    assert_eq!(set_env(app, &owner, &org, "gcs", "B=2\n").status, 200);
    upload_new_key(app, &owner, &org);
}

/// A thief may hold an ADMINISTRATOR's token, whose mailbox nobody reads: the
/// organization's OWNERs are told of each key and environment change too, with who
/// made it; the actor is told once, as before.
#[test]
fn an_administrators_changes_are_told_to_the_organizations_owners() {
    let app = shared_app();
    let owner_email = "owner@env-told.example";
    let admin_email = "admin@env-told.example";
    let (owner, org, _) = verified_user(app, owner_email);
    let (admin, _, body) = verified_user(app, admin_email);
    // A colleague at the claimed domain joined as MEMBER; the owner made them admin.
    let admin_id = body["user"]["id"].as_str().expect("user id");
    app.d1_query(&format!(
        "UPDATE org_members SET role = 'ADMINISTRATOR' WHERE org_id = '{org}' \
         AND user_id = '{admin_id}'"
    ));
    assert_eq!(
        app.d1_query(&format!(
            "SELECT count(*) AS n FROM org_members WHERE org_id = '{org}'"
        ))[0]["n"],
        2
    );
    // A colleague who stays MEMBER: told nothing.
    let member_email = "member@env-told.example";
    verified_user(app, member_email);
    let (_, uploaded) = upload_new_key(app, &admin, &org);
    let key_id = uploaded.json()["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(set_env(app, &admin, &org, "gcs", "G=1\n").status, 200);

    // The owner: verification, the two colleagues' joins, then the two notices
    // naming the administrator.
    let mails = app.wait_for_emails(owner_email, 5);
    let joins = "Someone joined your organization";
    assert_eq!(mails.iter().filter(|m| m.subject == joins).count(), 2);
    let notices: Vec<_> = mails
        .iter()
        .filter(|m| m.subject != mails[0].subject && m.subject != joins)
        .collect();
    assert_eq!(notices.len(), 2, "{mails:?}");
    for notice in &notices {
        assert!(
            notice.text.contains(&format!(
                "With the account {admin_email}, of your organization"
            )),
            "{}",
            notice.text
        );
    }
    assert!(notices
        .iter()
        .any(|m| m.subject == "A key was added to your organization"
            && m.text
                .contains(&format!("DELETE /organization/{org}/key/{key_id}"))));
    assert!(notices
        .iter()
        .any(|m| m.subject == "A service environment of your organization was set"));
    // The administrator: their own two, as the actor.
    let theirs = app.wait_for_emails(admin_email, 3);
    assert!(
        theirs[1..]
            .iter()
            .all(|m| m.text.contains("With your account")),
        "{theirs:?}"
    );

    // The owner's own change: told once, as the actor (not again as an OWNER).
    assert_eq!(set_env(app, &owner, &org, "s3", "S=1\n").status, 200);
    app.wait_for_emails(owner_email, 6);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let mails = app.emails_to(owner_email);
    assert_eq!(
        mails.len(),
        6,
        "one notice for the owner's own change: {mails:?}"
    );
    assert!(mails.last().unwrap().text.contains("With your account"));
    assert_eq!(
        app.emails_to(member_email).len(),
        1,
        "a MEMBER: verification only"
    );
}
