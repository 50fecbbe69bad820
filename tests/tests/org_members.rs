//! An organization's members and their roles (`GET /organization/{idOrg}/members`,
//! `PUT /organization/{idOrg}/member/{userId}`): an OWNER gives a colleague a role and
//! every gate reads it from the next request on; the last OWNER who can act keeps the
//! role, even against two OWNERs demoting each other at once; a grant counts against
//! the organization's day of changes; and the organization's audit trail
//! (`GET /organization/{idOrg}/audit`), which its OWNERs and ADMINISTRATORs read.
//! What everyone else gets: security_org_members.rs. Each answer named in SECURITY.md.

use gatehouse_e2e::accounts::{assert_error, legacy_membership, sign_up, user_id, verified_user};
use gatehouse_e2e::members::{
    account_rows, members, remove_member, role_audit, set_role, stored_roles,
};
use gatehouse_e2e::nodes::now_ms;
use gatehouse_e2e::seed::seq;
use gatehouse_e2e::shared_app;
use serde_json::{json, Value};

#[test]
fn an_owner_gives_a_colleague_a_role_that_every_gate_reads_at_once() {
    let app = shared_app();
    let (boss, org, boss_body) = verified_user(app, "boss@members-grant.example");
    let (bob, bobs, bob_body) = verified_user(app, "bob@members-grant.example");
    assert_eq!(bobs, org, "joined the claimed domain");
    let bob_id = bob_body["user"]["id"].as_str().unwrap().to_owned();
    let boss_id = boss_body["user"]["id"].as_str().unwrap().to_owned();

    // Any verified member reads who is who, the founder first: the gate and the list,
    // both where a replica may answer.
    let listed = members(app, &bob, &org);
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.d1_round_trips(), (0, 2));
    let listed = listed.json();
    assert_eq!(listed["total"], 2);
    let data = listed["data"].as_array().unwrap();
    assert_eq!(
        (&data[0]["id"], &data[0]["email"], &data[0]["orgRole"]),
        (
            &json!(boss_id),
            &json!("boss@members-grant.example"),
            &json!(255)
        )
    );
    assert_eq!(
        (
            &data[1]["id"],
            &data[1]["orgRole"],
            &data[1]["orgRoleDescription"]
        ),
        (&json!(bob_id), &json!(0), &json!("USER"))
    );
    assert_eq!(
        (
            &data[1]["name"],
            &data[1]["lastName"],
            &data[1]["validated"]
        ),
        (&json!("Ada"), &json!("Lovelace"), &json!(true))
    );
    assert!(data[1]["joinedAt"].as_str().unwrap().ends_with('Z'));

    // A MEMBER changes nobody's role, their own included.
    assert_error(&set_role(app, &bob, &org, &bob_id, 254), 403, "FORBIDDEN");
    let revoke_all = |token: &str| {
        app.request_as(token, "DELETE", &format!("/organization/{org}/key"), None)
            .status
    };
    assert_eq!(revoke_all(&bob), 403, "a MEMBER reads only");

    // The OWNER makes Bob ADMINISTRATOR: his same token may now change keys.
    let granted = set_role(app, &boss, &org, &bob_id, 254);
    assert_eq!(granted.status, 200, "{}", granted.body);
    assert_eq!(granted.d1_round_trips(), (2, 2), "the gate, then one batch");
    assert_eq!(
        granted.json()["data"],
        json!({"id": bob_id, "orgRole": 254, "orgRoleDescription": "ADMINISTRATORS",
               "previousOrgRole": 0})
    );
    assert_eq!(revoke_all(&bob), 200, "the same token, the new role");
    let profile = app.request_as(&bob, "GET", "/user/profile", None).json();
    assert_eq!(profile["data"]["orgRole"], 254);

    // The actor is told by mail, naming the member by id and how to set it back.
    let told = app.wait_for_emails("boss@members-grant.example", 2);
    let notice = told.last().unwrap();
    assert_eq!(
        notice.subject,
        "A member's role in your organization was changed"
    );
    assert!(
        notice.text.contains(&format!(
            "the account {bob_id} was made ADMINISTRATORS (orgRole 254) in organization {org}"
        )),
        "{}",
        notice.text
    );

    // The member is told too, with who did it.
    let bobs_mail = app.wait_for_emails("bob@members-grant.example", 2);
    assert!(
        bobs_mail
            .last()
            .unwrap()
            .text
            .contains("boss@members-grant.example"),
        "{}",
        bobs_mail.last().unwrap().text
    );

    // The same role again writes nothing; an ADMINISTRATOR changes no role.
    let again = set_role(app, &boss, &org, &bob_id, 254);
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json()["data"]["previousOrgRole"], 254);
    assert_eq!(again.header("x-gatehouse-d1-rows-written"), Some("0"));
    assert_error(&set_role(app, &bob, &org, &boss_id, 0), 403, "FORBIDDEN");
    assert_error(&set_role(app, &bob, &org, &bob_id, 255), 403, "FORBIDDEN");
    assert_eq!(
        role_audit(app, &org),
        vec![
            json!({"member": "bob@members-grant.example", "action": "ROLE_ADMINISTRATOR",
                    "actor": "boss@members-grant.example"})
        ]
    );
}

#[test]
fn the_last_owner_who_can_act_keeps_the_role() {
    let app = shared_app();
    let (boss, org, body) = verified_user(app, "boss@members-last.example");
    let boss_id = body["user"]["id"].as_str().unwrap().to_owned();
    assert_error(
        &set_role(app, &boss, &org, &boss_id, 254),
        409,
        "LAST_OWNER",
    );

    // An unverified OWNER cannot act, so does not count.
    // (A sign-up joins only once verified; an unverified member is one who joined at
    // sign-up before that rule: written here straight into D1, as such a row is.)
    sign_up(app, "carol@members-last.example");
    let carol_id = user_id(app, "carol@members-last.example");
    legacy_membership(app, &org, &carol_id);
    let unverified = set_role(app, &boss, &org, &carol_id, 255);
    assert_eq!(unverified.status, 200, "{}", unverified.body);
    let listed = members(app, &boss, &org).json();
    assert_eq!(listed["data"][1]["validated"], false);
    assert_error(&set_role(app, &boss, &org, &boss_id, 0), 409, "LAST_OWNER");

    // With another verified OWNER, the founder may step down, and then changes nothing.
    let (bob, _, body) = verified_user(app, "bob@members-last.example");
    let bob_id = body["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(set_role(app, &boss, &org, &bob_id, 255).status, 200);
    let stepped_down = set_role(app, &boss, &org, &boss_id, 254);
    assert_eq!(stepped_down.status, 200, "{}", stepped_down.body);
    // The other OWNER is told, naming who stepped down and who did it.
    let step_down = format!("the account {boss_id} was made ADMINISTRATORS");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !app
        .emails_to("bob@members-last.example")
        .iter()
        .any(|m| m.text.contains(&step_down) && m.text.contains("boss@members-last.example"))
    {
        assert!(std::time::Instant::now() < deadline, "Bob was not told");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_error(&set_role(app, &boss, &org, &bob_id, 0), 403, "FORBIDDEN");

    // Two OWNERs demoting each other at once: one wins, one OWNER is left.
    assert_eq!(set_role(app, &bob, &org, &boss_id, 255).status, 200);
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| set_role(app, &boss, &org, &bob_id, 0));
        let b = s.spawn(|| set_role(app, &bob, &org, &boss_id, 0));
        (a.join().unwrap(), b.join().unwrap())
    });
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert!(
        statuses == [200, 403] || statuses == [200, 409],
        "{} {}",
        a.body,
        b.body
    );
    let verified_owners = app.d1_query(&format!(
        "SELECT count(*) AS n FROM org_members m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = '{org}' AND m.role = 'OWNER' AND u.email_verified_at_ms IS NOT NULL"
    ));
    assert_eq!(verified_owners[0]["n"], 1);
}

/// A grant counts against the organization's day of changes (core::org_changes) and is
/// refused once it is spent, as a removal is; taking a role away never is: undoing a
/// thief's grant must always work.
#[test]
fn a_grant_or_a_removal_needs_room_in_the_day_and_taking_a_role_away_never_does() {
    let app = shared_app();
    let (boss, org, _) = verified_user(app, "boss@members-budget.example");
    let (_, _, bob) = verified_user(app, "bob@members-budget.example");
    let bob_id = bob["user"]["id"].as_str().unwrap();
    assert_eq!(set_role(app, &boss, &org, bob_id, 254).status, 200);
    // 99 more changes over the last day (the oldest 23 hours ago): 100 in all.
    app.d1_query(&format!(
        "{} INSERT INTO key_audit (id, org_id, key_id, actor_user_id, action, at_ms) \
         SELECT 'members-budget-' || n, '{org}', 's3', NULL, 'ENV_SET', {} + n FROM seq",
        seq(1, 99),
        now_ms() - 23 * 3600 * 1000
    ));
    let granted = set_role(app, &boss, &org, bob_id, 255);
    assert_error(&granted, 429, "RATE_LIMITED");
    let retry: i64 = granted.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (3500..=3610).contains(&retry),
        "{retry} s: the oldest leaves in ~1 h"
    );

    let withdrawn = set_role(app, &boss, &org, bob_id, 0);
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.body);
    assert_eq!(
        role_audit(app, &org)
            .iter()
            .map(|r| r["action"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["ROLE_ADMINISTRATOR", "ROLE_MEMBER"],
        "the refused grant wrote nothing; the withdrawal counts"
    );
    assert_eq!(
        stored_roles(app, &org)[0],
        json!({"email": "bob@members-budget.example", "role": "MEMBER"})
    );

    // Removals are bounded by the day too (unverified sign-ups join as MEMBERs, so the
    // people who act do not bound them): the member is made MEMBER at once instead.
    let removal = remove_member(app, &boss, &org, bob_id);
    assert_error(&removal, 429, "RATE_LIMITED");
    assert!(removal.header("retry-after").is_some());
    assert_eq!(account_rows(app, bob_id).2, 1, "still a member");
}

/// The audit trail an organization's OWNERs and ADMINISTRATORs read
/// (`GET /organization/{idOrg}/audit`): every change with who made it and when, newest
/// first, a page at a time; nobody else reads it.
#[test]
fn owners_and_administrators_read_who_changed_what_a_page_at_a_time() {
    let app = shared_app();
    let (boss, org, body) = verified_user(app, "boss@members-audit.example");
    let boss_id = body["user"]["id"].as_str().unwrap().to_owned();
    let (bob, _, body) = verified_user(app, "bob@members-audit.example");
    let bob_id = body["user"]["id"].as_str().unwrap().to_owned();
    let (_, uploaded) = gatehouse_e2e::nodes::upload_new_key(app, &boss, &org);
    let key_id = uploaded.json()["data"]["id"].as_str().unwrap().to_owned();
    let env = gatehouse_e2e::node_env::set_env(app, &boss, &org, "s3", "A=1\n");
    assert_eq!(env.status, 200, "{}", env.body);
    // An operator's change names nobody.
    app.d1_query(&format!(
        "INSERT INTO key_audit (id, org_id, key_id, actor_user_id, action, at_ms) \
         VALUES ('members-audit-op', '{org}', 'gcs', NULL, 'ENV_DELETE', {})",
        now_ms() - 1
    ));
    // Revoking every key writes one entry per key in the same millisecond.
    let (_, second) = gatehouse_e2e::nodes::upload_new_key(app, &boss, &org);
    let second_key = second.json()["data"]["id"].as_str().unwrap().to_owned();
    let revoked = app.request_as(&boss, "DELETE", &format!("/organization/{org}/key"), None);
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let audit = |token: &str, query: &str| {
        app.request_as(
            token,
            "GET",
            &format!("/organization/{org}/audit{query}"),
            None,
        )
    };
    // A MEMBER does not read it; made ADMINISTRATOR, Bob does.
    assert_error(&audit(&bob, ""), 403, "FORBIDDEN");
    assert_eq!(set_role(app, &boss, &org, &bob_id, 254).status, 200);
    let all = audit(&bob, "");
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.d1_round_trips(), (0, 2));
    let boss_actor = json!({"id": boss_id, "email": "boss@members-audit.example"});
    let entries: Vec<Value> = all.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| json!([e["action"], e["subject"], e["actor"]]))
        .collect();
    let mut revocations = [key_id.clone(), second_key.clone()];
    revocations.sort_unstable_by(|a, b| b.cmp(a)); // one millisecond: by id, newest first
    assert_eq!(
        entries,
        vec![
            json!(["ROLE_ADMINISTRATOR", bob_id, boss_actor]),
            json!(["REVOKE", revocations[0], boss_actor]),
            json!(["REVOKE", revocations[1], boss_actor]),
            json!(["CREATE", second_key, boss_actor]),
            json!(["ENV_DELETE", "gcs", null]),
            json!(["ENV_SET", "s3", boss_actor]),
            json!(["CREATE", key_id, boss_actor]),
        ]
    );
    assert_eq!(all.json()["next"], Value::Null, "one page holds them all");

    // Pages of one and of two: the cursor leads through every entry once, in the same
    // order, across the millisecond the two revocations share; the last page says so.
    for limit in [1, 2] {
        let mut seen = Vec::new();
        let mut query = format!("?limit={limit}");
        loop {
            let page = audit(&boss, &query);
            assert_eq!(page.status, 200, "{}", page.body);
            let page = page.json();
            let data = page["data"].as_array().unwrap();
            assert!(!data.is_empty(), "a next never leads to an empty page");
            seen.extend(
                data.iter()
                    .map(|e| json!([e["action"], e["subject"], e["actor"]])),
            );
            match page["next"].as_str() {
                Some(next) => query = format!("?limit={limit}&before={next}"),
                None => break,
            }
        }
        assert_eq!(seen, entries, "pages of {limit}");
    }

    // Pages no client was given, and everyone else.
    for query in [
        "?limit=0",
        "?limit=101",
        "?limit=%35",
        "?before=1_x'y",
        "?before=abc",
    ] {
        assert_error(&audit(&boss, query), 400, "INVALID_INPUT");
    }
    let (eve, _, _) = verified_user(app, "eve@members-audit-elsewhere.example");
    assert_error(&audit(&eve, ""), 403, "FORBIDDEN");
    assert_error(&audit("not.a.token", ""), 401, "UNAUTHORIZED");
}
