//! Which organization a company's people land in: a domain is claimed only by an
//! organization whose founder verified an email at it, and never for a free-mail
//! provider's domain (the list is data from a maintained package).

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::accounts::{sign_up, verified_user, verify_by_email};
use gatehouse_e2e::spawn_app;
use serde_json::{json, Value};

#[test]
fn an_unverified_sign_up_cannot_capture_a_domain() {
    let app = spawn_app();
    // Mallory signs up as someone at acme.io but cannot read that mailbox.
    let squatter = sign_up(&app, "anyone@acme.io");
    let squat_org = squatter["user"]["orgId"].as_str().unwrap().to_owned();

    // The real Ada arrives later: she founds her own organization, not a seat in Mallory's.
    let (ada_token, ada_org, _) = verified_user(&app, "ada@acme.io");
    assert_ne!(ada_org, squat_org);
    let orgs =
        app.d1_query("SELECT id, domain, pending_domain FROM organizations ORDER BY created_at_ms");
    assert_eq!(
        orgs,
        vec![
            json!({"id": squat_org, "domain": null, "pending_domain": "acme.io"}),
            json!({"id": ada_org, "domain": "acme.io", "pending_domain": null}),
        ],
        "only the verified founder's organization claims acme.io"
    );
    // Ada owns her organization and can manage its keys.
    let key = PrivateKey::generate(2048)
        .unwrap()
        .public_key()
        .to_spki_pem();
    let res = app.post_json_as(
        &ada_token,
        &format!("/organization/{ada_org}/key"),
        &json!({ "publicKey": key }),
    );
    assert_eq!(res.status, 201, "{}", res.body);

    // Colleagues join Ada's organization, not the squatter's.
    let colleague = sign_up(&app, "charles@acme.io");
    assert_eq!(colleague["user"]["orgId"], json!(ada_org));
    let members = app.d1_query(&format!(
        "SELECT count(*) AS n FROM org_members WHERE org_id = '{ada_org}'"
    ));
    assert_eq!(members[0]["n"], 2);
}

#[test]
fn free_mail_providers_never_define_an_organization() {
    let app = spawn_app();
    let mut orgs = Vec::new();
    for email in [
        "one@hotmail.co.uk",
        "two@hotmail.co.uk",
        "three@outlook.fr",
        "four@outlook.fr",
        "five@gmx.at",
        "six@yahoo.de",
    ] {
        let (_, org, _) = verified_user(&app, email);
        orgs.push(org);
    }
    orgs.sort();
    orgs.dedup();
    assert_eq!(
        orgs.len(),
        6,
        "nobody shares an organization through free mail"
    );
    assert_eq!(
        app.d1_query("SELECT count(*) AS n FROM organizations WHERE domain IS NOT NULL OR pending_domain IS NOT NULL")[0]["n"],
        0
    );
    let listed = app.d1_query("SELECT count(*) AS n FROM free_mail_domains");
    assert!(listed[0]["n"].as_i64().unwrap() > 1000, "{listed:?}");
}

#[test]
fn a_colleague_who_verifies_after_the_founder_joins_the_founders_organization() {
    let app = spawn_app();
    // Both sign up before either verifies: each gets an organization of their own.
    let ada = sign_up(&app, "ada@acme.io");
    let bob = sign_up(&app, "bob@acme.io");
    let ada_org = ada["user"]["orgId"].as_str().unwrap().to_owned();
    assert_ne!(bob["user"]["orgId"], json!(ada_org));
    verify_by_email(&app, "ada@acme.io");
    verify_by_email(&app, "bob@acme.io");
    // Bob's organization held nothing: he is now a member of Ada's, and his empty
    // organization and its trial are gone.
    let login = app.post_json(
        "/user/login",
        &json!({"email": "bob@acme.io", "password": "Correct1horse"}),
    );
    assert_eq!(login.json()["user"]["orgId"], json!(ada_org));
    let orgs: Vec<Value> = app.d1_query("SELECT id FROM organizations");
    assert_eq!(orgs, vec![json!({ "id": ada_org })]);
    assert_eq!(
        app.d1_query("SELECT count(*) AS n FROM subscriptions")[0]["n"],
        1
    );
    let roles = app.d1_query("SELECT role FROM org_members ORDER BY created_at_ms");
    assert_eq!(
        roles,
        vec![json!({"role": "OWNER"}), json!({"role": "MEMBER"})]
    );
}
