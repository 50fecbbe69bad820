//! `gatehouse-cli admin set-role` as an operator runs it, against the local D1 of a
//! running worker: a colleague gets another role from their next request on, the last
//! OWNER who can act keeps the role, every change is audited with no user, and an
//! OWNER made something else is marked as by route (removable a day later).

mod common;

use common::{admin, ok};
use gatehouse_e2e::accounts::verified_user;
use gatehouse_e2e::shared_app;
use serde_json::json;

#[test]
fn set_role_gives_a_colleague_the_keys_and_never_leaves_an_organization_without_an_owner() {
    let app = shared_app();
    let (boss_token, company, _) = verified_user(app, "boss@roles.example");
    let (bob_token, bobs, _) = verified_user(app, "bob@roles.example");
    assert_eq!(bobs, company, "joined the claimed domain");
    let upload = |token: &str| {
        let key = gatehouse_core::crypto::rsa_keys::PrivateKey::generate(2048).unwrap();
        app.post_json_as(
            token,
            &format!("/organization/{company}/key"),
            &json!({"publicKey": key.public_key().to_spki_pem()}),
        )
        .status
    };
    assert_eq!(upload(&bob_token), 403, "a MEMBER reads only");

    let out = ok(&admin(
        app,
        &["set-role", &company, "Bob@Roles.example", "ADMINISTRATOR"],
    ));
    assert!(
        out.contains("bob@roles.example is now ADMINISTRATOR (was MEMBER)"),
        "{out}"
    );
    assert_eq!(upload(&bob_token), 201, "the same token, the new role");

    // The only verified OWNER stays one until there is another: an unverified OWNER
    // (who cannot act) does not count.
    // (A sign-up joins only once verified: an unverified member is one who joined at
    // sign-up before that rule, written here straight into D1 as such a row is.)
    let new = gatehouse_e2e::accounts::sign_up(app, "new@roles.example");
    gatehouse_e2e::accounts::legacy_membership(app, &company, new["user"]["id"].as_str().unwrap());
    let promoted = ok(&admin(
        app,
        &["set-role", &company, "new@roles.example", "OWNER"],
    ));
    assert!(
        promoted.contains("cannot act until they verify"),
        "{promoted}"
    );
    let last = admin(app, &["set-role", &company, "boss@roles.example", "MEMBER"]);
    assert!(!last.status.success());
    assert!(
        common::stderr(&last).contains("until another verified member is OWNER"),
        "{}",
        common::text(&last)
    );
    assert_eq!(upload(&boss_token), 201);
    ok(&admin(
        app,
        &["set-role", &company, "bob@roles.example", "OWNER"],
    ));
    ok(&admin(
        app,
        &["set-role", &company, "boss@roles.example", "MEMBER"],
    ));
    assert_eq!(upload(&boss_token), 403);
    // An OWNER made MEMBER is marked, as by route: removable by route a day later.
    let marked = app.d1_query(&format!(
        "SELECT u.email FROM org_members m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = '{company}' AND m.owner_until_ms IS NOT NULL"
    ));
    assert_eq!(marked, vec![json!({"email": "boss@roles.example"})]);

    // Someone else's organization, a role that is not one, a hostile id: nothing.
    let (_, elsewhere, _) = verified_user(app, "eve@roles-elsewhere.example");
    let outsider = admin(
        app,
        &["set-role", &company, "eve@roles-elsewhere.example", "OWNER"],
    );
    assert!(
        common::stderr(&outsider).contains("not a member"),
        "{}",
        common::text(&outsider)
    );
    assert_ne!(elsewhere, company);
    assert!(
        !admin(app, &["set-role", &company, "bob@roles.example", "ROOT"])
            .status
            .success()
    );
    assert!(!admin(
        app,
        &["set-role", "o' OR '1'='1", "bob@roles.example", "MEMBER"]
    )
    .status
    .success());
    let roles = app.d1_query(&format!(
        "SELECT u.email, m.role FROM org_members m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = '{company}' ORDER BY u.email"
    ));
    assert_eq!(
        roles,
        vec![
            json!({"email": "bob@roles.example", "role": "OWNER"}),
            json!({"email": "boss@roles.example", "role": "MEMBER"}),
            json!({"email": "new@roles.example", "role": "OWNER"}),
        ]
    );
    // Each change made is audited as an operator's (no user), with the member's id;
    // the refused ones and a role set again wrote nothing.
    let again = ok(&admin(
        app,
        &["set-role", &company, "bob@roles.example", "OWNER"],
    ));
    assert!(
        again.contains("is OWNER already; nothing changed"),
        "{again}"
    );
    let audit = app.d1_query(&format!(
        "SELECT u.email, a.action, a.actor_user_id FROM key_audit a \
         JOIN users u ON u.id = a.key_id WHERE a.org_id = '{company}' \
         AND a.action LIKE 'ROLE_%' ORDER BY a.at_ms, a.rowid"
    ));
    assert_eq!(
        audit,
        vec![
            json!({"email": "bob@roles.example", "action": "ROLE_ADMINISTRATOR", "actor_user_id": null}),
            json!({"email": "new@roles.example", "action": "ROLE_OWNER", "actor_user_id": null}),
            json!({"email": "bob@roles.example", "action": "ROLE_OWNER", "actor_user_id": null}),
            json!({"email": "boss@roles.example", "action": "ROLE_MEMBER", "actor_user_id": null}),
        ]
    );
    let listed = ok(&admin(
        app,
        &["key-audit", "--org", &company, "--limit", "1"],
    ));
    assert!(
        listed.contains("\"member_email\": \"boss@roles.example\"")
            && listed.contains("\"action\": \"ROLE_MEMBER\""),
        "{listed}"
    );
}
