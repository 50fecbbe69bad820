//! An OWNER removes a member (`DELETE /organization/{idOrg}/member/{userId}`): the
//! member's tokens stop at once, their account goes (kept with nothing personal while
//! audit entries name them), the removal is audited and told; the person can sign up
//! again at the domain and is a MEMBER once verified. An OWNER is never removed, the
//! caller included, nor for a day after they stopped being one; a member of another
//! organization too keeps their account. What
//! everyone else gets: security_org_members.rs. Each answer named in SECURITY.md.

use gatehouse_e2e::accounts::{assert_error, login_at, verified_user, PASSWORD};
use gatehouse_e2e::members::{account_rows, members, remove_member, set_role};
use gatehouse_e2e::node_env::set_env;
use gatehouse_e2e::shared_app;
use serde_json::{json, Value};

fn id_of(body: &Value) -> String {
    body["user"]["id"].as_str().expect("user.id").to_owned()
}

#[test]
fn an_owner_removes_a_colleague_whose_tokens_and_account_end() {
    let app = shared_app();
    let (boss, org, boss_body) = verified_user(app, "boss@members-remove.example");
    let (bob, _, bob_body) = verified_user(app, "bob@members-remove.example");
    let (bob_id, boss_id) = (id_of(&bob_body), id_of(&boss_body));
    assert_eq!(
        account_rows(app, &bob_id),
        (Some("bob@members-remove.example".into()), 1, 1)
    );

    // The client's bodiless DELETE; the gate, then one batch, both on the primary.
    let removed = remove_member(app, &boss, &org, &bob_id);
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(
        removed.json(),
        json!({"success": true, "message": "Member removed"})
    );
    assert_eq!(removed.d1_round_trips(), (2, 2), "the gate, then one batch");

    // His tokens stop at their next request; his password opens nothing.
    assert_error(&members(app, &bob, &org), 401, "SESSION_ENDED");
    let refresh = app.post_json(
        "/user/refresh",
        &json!({"refresh_token": bob_body["refreshToken"]}),
    );
    assert_error(&refresh, 401, "INVALID_TOKEN");
    let login = login_at(app, "198.51.100.71", "bob@members-remove.example", PASSWORD);
    assert_eq!(login.status, 401, "{}", login.body);
    assert_eq!(
        account_rows(app, &bob_id),
        (None, 0, 0),
        "no audit names him: gone"
    );

    // Listed no more; audited with who did it; a second removal finds nobody.
    let listed = members(app, &boss, &org).json();
    assert_eq!(
        (listed["total"].clone(), listed["data"][0]["id"].clone()),
        (json!(1), json!(boss_id))
    );
    let audit = app
        .request_as(&boss, "GET", &format!("/organization/{org}/audit"), None)
        .json();
    assert_eq!(
        (
            &audit["data"][0]["action"],
            &audit["data"][0]["subject"],
            &audit["data"][0]["actor"]
        ),
        (
            &json!("MEMBER_REMOVED"),
            &json!(bob_id),
            &json!({"id": boss_id, "email": "boss@members-remove.example"})
        )
    );
    assert_error(&remove_member(app, &boss, &org, &bob_id), 404, "NOT_FOUND");

    // Told: the OWNER who did it, naming Bob by id and address (the id names nothing
    // now), and Bob at the address he had, in words of his own, with who did it.
    let boss_mail = app.wait_for_emails("boss@members-remove.example", 2);
    let notice = boss_mail.last().unwrap();
    assert_eq!(
        notice.subject,
        "A member was removed from your organization"
    );
    assert!(
        notice.text.contains(&format!(
            "the account {bob_id} (bob@members-remove.example) was removed from organization {org}"
        )),
        "{}",
        notice.text
    );
    let bob_mail = app.wait_for_emails("bob@members-remove.example", 2);
    let notice = bob_mail.last().unwrap();
    assert_eq!(notice.subject, "You were removed from an organization");
    assert!(
        notice
            .text
            .contains("With the account boss@members-remove.example")
            && notice
                .text
                .contains(&format!("your account was removed from organization {org}")),
        "{}",
        notice.text
    );

    // Membership follows the mailbox: Bob, still receiving mail at the domain, signs up
    // again and is a MEMBER of the same organization once verified, as a new account.
    let (_, again_org, again) = verified_user(app, "bob@members-remove.example");
    assert_eq!(again_org, org);
    assert_ne!(id_of(&again), bob_id);
    assert_eq!(
        app.d1_query(&format!(
            "SELECT role FROM org_members WHERE user_id = '{}'",
            id_of(&again)
        )),
        vec![json!({"role": "MEMBER"})]
    );
}

#[test]
fn an_administrator_who_changed_things_is_kept_as_the_audit_trails_anchor() {
    let app = shared_app();
    let (boss, org, _) = verified_user(app, "boss@members-anchor.example");
    let (carol, _, body) = verified_user(app, "carol@members-anchor.example");
    let carol_id = id_of(&body);
    assert_eq!(set_role(app, &boss, &org, &carol_id, 254).status, 200);
    let set = set_env(app, &carol, &org, "s3", "AWS_REGION=eu-west-1\n");
    assert_eq!(set.status, 200, "{}", set.body);

    assert_eq!(remove_member(app, &boss, &org, &carol_id).status, 200);
    let erased = format!("erased:{carol_id}");
    assert_eq!(account_rows(app, &carol_id), (Some(erased.clone()), 0, 0));
    let row = &app.d1_query(&format!(
        "SELECT password_hash, first_name, last_name, inbox FROM users WHERE id = '{carol_id}'"
    ))[0];
    assert_eq!(
        row,
        &json!({"password_hash": "", "first_name": "", "last_name": "", "inbox": null})
    );
    // Her change still says who made it, by the id and the address nobody can use.
    let audit = app
        .request_as(&boss, "GET", &format!("/organization/{org}/audit"), None)
        .json();
    let entries = audit["data"].as_array().unwrap();
    let env_set = entries
        .iter()
        .find(|e| e["action"] == "ENV_SET")
        .expect("ENV_SET");
    assert_eq!(env_set["actor"], json!({"id": carol_id, "email": erased}));
    assert_error(
        &set_env(app, &carol, &org, "s3", "A=1\n"),
        401,
        "SESSION_ENDED",
    );
}

#[test]
fn an_owner_is_never_removed_nor_for_a_day_after_and_a_member_elsewhere_keeps_the_account() {
    let app = shared_app();
    let (boss, org, boss_body) = verified_user(app, "boss@members-keep.example");
    let (bob, _, bob_body) = verified_user(app, "bob@members-keep.example");
    let (boss_id, bob_id) = (id_of(&boss_body), id_of(&bob_body));

    // Not the caller, not another OWNER.
    assert_error(
        &remove_member(app, &boss, &org, &boss_id),
        409,
        "MEMBER_IS_OWNER",
    );
    assert_eq!(set_role(app, &boss, &org, &bob_id, 255).status, 200);
    assert_error(
        &remove_member(app, &bob, &org, &boss_id),
        409,
        "MEMBER_IS_OWNER",
    );
    assert_error(
        &remove_member(app, &boss, &org, &bob_id),
        409,
        "MEMBER_IS_OWNER",
    );

    // Made MEMBER, Bob is still held for a day: a stolen OWNER token cannot demote and
    // erase an OWNER before the demotion's mail has reached the others.
    assert_eq!(set_role(app, &boss, &org, &bob_id, 0).status, 200);
    let held = remove_member(app, &boss, &org, &bob_id);
    assert_error(&held, 409, "MEMBER_IS_OWNER");
    assert!(
        held.json()["message"]
            .as_str()
            .unwrap()
            .contains("was an OWNER until"),
        "{}",
        held.body
    );
    assert_eq!(account_rows(app, &boss_id).2, 1);
    assert_eq!(account_rows(app, &bob_id).2, 1);

    // A person also in another organization (a membership from before domain claims
    // needed verification) leaves this one only, once the day has passed: their
    // sign-ins end, the account stays and signs in again to the organization left.
    let (_, elsewhere, _) = verified_user(app, "eve@members-keep-elsewhere.example");
    app.d1_query(&format!(
        "INSERT INTO org_members (org_id, user_id, role, created_at_ms) \
         VALUES ('{elsewhere}', '{bob_id}', 'MEMBER', 0); \
         UPDATE org_members SET owner_until_ms = owner_until_ms - 86400000 \
         WHERE org_id = '{org}' AND user_id = '{bob_id}'"
    ));
    assert_eq!(remove_member(app, &boss, &org, &bob_id).status, 200);
    assert_eq!(
        account_rows(app, &bob_id),
        (Some("bob@members-keep.example".into()), 0, 1)
    );
    assert_error(&members(app, &bob, &org), 401, "SESSION_ENDED");
    let login = login_at(app, "198.51.100.72", "bob@members-keep.example", PASSWORD);
    assert_eq!(login.status, 200, "{}", login.body);
    assert_eq!(login.json()["user"]["orgId"], json!(elsewhere));
}
