//! Who else reaches an organization's members, their roles and their removal, and what
//! they get: a stranger, a MEMBER or ADMINISTRATOR, another organization's OWNER, a
//! thief with an ended sign-in, an unverified address, a banned organization, bodies
//! no client should send — and a demotion, removal, sign-out or ban that lands between
//! the gate's read and the change (role changes, removals, key, node and environment
//! writes). Each answer named in SECURITY.md ("Roles and removals").

use gatehouse_core::account::rows::PERSONAL_TABLES;
use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::accounts::{assert_error, sign_up, user_id, verified_user};
use gatehouse_e2e::members::{account_rows, members, remove_member, set_role, stored_roles};
use gatehouse_e2e::node_env::set_env;
use gatehouse_e2e::nodes::{now_ms, register, upload_new_key};
use gatehouse_e2e::shared_app;
use serde_json::{json, Value};

/// The gate reads the caller's role, sign-in and the ban; the change is a later round
/// trip. What lands in between must count: every change's batch reads them again — a
/// role change, a removal, and the key, node and environment writes (a removed
/// ADMINISTRATOR's row may be gone by then: their write is refused, not a 500; a thief
/// whose sign-in a password reset ended has their changes in flight refused). Each D1
/// round trip takes 4 s here (the worker restarted with simulated distance over the
/// same D1): the gate's read lands at ~4 s, the demotion, the removal, the sign-out and
/// the ban are written at 6 s (straight into the SQLite file; the requests are sent
/// from threads of their own, so the harness does not hold the write back), the
/// changes' batches at ~8 s.
#[test]
fn a_demotion_removal_sign_out_or_ban_between_the_gate_and_the_change_is_not_missed() {
    let mut app = gatehouse_e2e::spawn_app();
    let (boss, org, _) = verified_user(&app, "boss@members-late.example");
    let (bob, _, body) = verified_user(&app, "bob@members-late.example");
    let bob_id = body["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(set_role(&app, &boss, &org, &bob_id, 255).status, 200);
    let (carl, _, body) = verified_user(&app, "carl@members-late.example");
    let carl_id = body["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(set_role(&app, &boss, &org, &carl_id, 254).status, 200);
    assert_eq!(set_env(&app, &boss, &org, "gcs", "A=1\n").status, 200);
    // A key, a node registered with it, and a second key's upload ready to send.
    let (key, uploaded) = upload_new_key(&app, &boss, &org);
    let key_id = uploaded.json()["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        register(&app, &key, "10.44.0.1", now_ms(), Some(&org)).status,
        200
    );
    let second = PrivateKey::generate(2048).expect("RSA key");
    let upload = json!({"publicKey": second.public_key().to_spki_pem()}).to_string();
    verified_user(&app, "carol@members-late.example");
    let carol_id = user_id(&app, "carol@members-late.example");
    verified_user(&app, "dan@members-late.example");
    let dan_id = user_id(&app, "dan@members-late.example");
    let (eve, banned, _) = verified_user(&app, "eve@members-banned-late.example");
    verified_user(&app, "fay@members-banned-late.example");
    let fay_id = user_id(&app, "fay@members-banned-late.example");
    verified_user(&app, "gil@members-banned-late.example");
    let gil_id = user_id(&app, "gil@members-banned-late.example");
    // An OWNER of an organization of her own, with a member of each role to change, an
    // environment, a key with its node and a second key's upload ready to send.
    let signed_out = "members-signed-out-late.example";
    let (ivy, ivy_org, body) = verified_user(&app, &format!("ivy@{signed_out}"));
    let ivy_id = body["user"]["id"].as_str().unwrap().to_owned();
    verified_user(&app, &format!("jo@{signed_out}"));
    let jo_id = user_id(&app, &format!("jo@{signed_out}"));
    verified_user(&app, &format!("kim@{signed_out}"));
    let kim_id = user_id(&app, &format!("kim@{signed_out}"));
    assert_eq!(set_env(&app, &ivy, &ivy_org, "gcs", "A=1\n").status, 200);
    let (ivy_key, uploaded) = upload_new_key(&app, &ivy, &ivy_org);
    let ivy_key_id = uploaded.json()["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        register(&app, &ivy_key, "10.44.0.2", now_ms(), Some(&ivy_org)).status,
        200
    );
    let third = PrivateKey::generate(2048).expect("RSA key");
    let ivy_upload = json!({"publicKey": third.public_key().to_spki_pem()}).to_string();
    let sent_at = now_ms();
    app.restart_with(&[("D1_LATENCY_MS", "4000")]);

    // Each request as the client sends it: a JSON body, or none.
    let send = |method: &'static str, token: &str, path: String, body: Option<String>| {
        let url = app.url(&path);
        let auth = format!("Bearer {token}");
        std::thread::spawn(move || {
            let request = ureq::request(method, &url).set("authorization", &auth);
            let sent = match body {
                Some(body) => request
                    .set("content-type", "application/json")
                    .send_string(&body),
                None => request.call(),
            };
            match sent {
                Ok(r) | Err(ureq::Error::Status(_, r)) => (r.status(), r.into_string().unwrap()),
                Err(e) => panic!("no answer: {e}"),
            }
        })
    };
    let role = || Some(r#"{"orgRole": 254}"#.to_owned());
    let env = || Some(r#"{"env": "B=2\n"}"#.to_owned());
    let member = |org: &str, user: &str| format!("/organization/{org}/member/{user}");
    let keys = format!("/organization/{org}/key");
    let demoted = [
        send("PUT", &bob, member(&org, &carol_id), role()),
        send("DELETE", &bob, member(&org, &dan_id), None),
        send("DELETE", &bob, format!("{keys}/{key_id}"), None),
        send("DELETE", &bob, keys.clone(), None),
        send(
            "PUT",
            &bob,
            format!("/organization/{org}/node-env/s3"),
            env(),
        ),
    ];
    let removed = [
        send("POST", &carl, keys.clone(), Some(upload)),
        send("DELETE", &carl, keys, None),
        send(
            "DELETE",
            &carl,
            format!("/organization/{org}/node/10.44.0.1"),
            None,
        ),
        send(
            "DELETE",
            &carl,
            format!("/organization/{org}/node-env/gcs"),
            None,
        ),
    ];
    let in_banned = [
        send("PUT", &eve, member(&banned, &fay_id), role()),
        send("DELETE", &eve, member(&banned, &gil_id), None),
        send(
            "PUT",
            &eve,
            format!("/organization/{banned}/node-env/s3"),
            env(),
        ),
    ];
    let ivy_keys = format!("/organization/{ivy_org}/key");
    let ivy_env = |service: &str| format!("/organization/{ivy_org}/node-env/{service}");
    let ended = [
        send("PUT", &ivy, member(&ivy_org, &jo_id), role()),
        send("DELETE", &ivy, member(&ivy_org, &kim_id), None),
        send("POST", &ivy, ivy_keys.clone(), Some(ivy_upload)),
        send("DELETE", &ivy, format!("{ivy_keys}/{ivy_key_id}"), None),
        send("DELETE", &ivy, ivy_keys, None),
        send(
            "DELETE",
            &ivy,
            format!("/organization/{ivy_org}/node/10.44.0.2"),
            None,
        ),
        send("PUT", &ivy, ivy_env("s3"), env()),
        send("DELETE", &ivy, ivy_env("gcs"), None),
    ];
    std::thread::sleep(std::time::Duration::from_secs(6));
    // Bob demoted; Carl removed as the route removes (his rows, then his account); Ivy's
    // sign-in ended as a password reset ends it; the other organization banned.
    let carls_rows: String = PERSONAL_TABLES
        .iter()
        .chain(&["org_members"])
        .map(|table| format!("DELETE FROM {table} WHERE user_id = '{carl_id}'; "))
        .collect();
    app.d1_execute(&format!(
        "UPDATE org_members SET role = 'MEMBER' WHERE user_id = '{bob_id}'; \
         {carls_rows} DELETE FROM users WHERE id = '{carl_id}'; \
         UPDATE sign_ins SET ended_at_ms = {ended_at} WHERE user_id = '{ivy_id}'; \
         UPDATE organizations SET banned = 1 WHERE id = '{banned}'",
        ended_at = now_ms()
    ))
    .expect("demote, remove, sign out and ban");
    let answer = |(status, text): (u16, String)| {
        if status == 500 {
            eprintln!("worker log:\n{}", app.log());
        }
        (
            status,
            serde_json::from_str::<Value>(&text).expect("JSON")["error_code"].clone(),
        )
    };
    for sent in demoted {
        assert_eq!(answer(sent.join().unwrap()), (403, json!("FORBIDDEN")));
    }
    for sent in in_banned {
        assert_eq!(answer(sent.join().unwrap()), (403, json!("ORG_BANNED")));
    }
    // A removal ends the member's sign-ins with their membership: what the gate would
    // answer them now.
    for sent in removed.into_iter().chain(ended) {
        assert_eq!(answer(sent.join().unwrap()), (401, json!("SESSION_ENDED")));
    }
    let members = [&carol_id, &dan_id, &fay_id, &gil_id, &jo_id, &kim_id];
    let changed = app.d1_query(&format!(
        "SELECT count(*) AS n FROM key_audit WHERE at_ms >= {sent_at} AND (key_id IN ('{}') \
         OR actor_user_id IN ('{bob_id}', '{carl_id}', '{eve_id}', '{ivy_id}'))",
        members.map(String::as_str).join("', '"),
        eve_id = user_id(&app, "eve@members-banned-late.example"),
    ));
    assert_eq!(changed[0]["n"], 0, "no audit row");
    for member in members {
        let role = app.d1_query(&format!(
            "SELECT role FROM org_members WHERE user_id = '{member}'"
        ));
        assert_eq!(role, vec![json!({"role": "MEMBER"})], "kept, as it was");
        assert_eq!(account_rows(&app, member).1, 1, "signed in still");
    }
    let envs = app.d1_query(&format!(
        "SELECT org_id, service FROM node_envs \
         WHERE org_id IN ('{org}', '{banned}', '{ivy_org}') ORDER BY org_id = '{ivy_org}'"
    ));
    assert_eq!(
        envs,
        vec![
            json!({"org_id": org, "service": "gcs"}),
            json!({"org_id": ivy_org, "service": "gcs"})
        ],
        "as they were"
    );
    for (org, key_id, ip) in [
        (&org, &key_id, "10.44.0.1"),
        (&ivy_org, &ivy_key_id, "10.44.0.2"),
    ] {
        let keys = app.d1_query(&format!(
            "SELECT id, revoked_at_ms FROM org_keys WHERE org_id = '{org}'"
        ));
        assert_eq!(
            keys,
            vec![json!({"id": key_id, "revoked_at_ms": null})],
            "as it was"
        );
        let nodes = app.d1_query(&format!("SELECT ip FROM nodes WHERE org_id = '{org}'"));
        assert_eq!(nodes, vec![json!({"ip": ip})], "as it was");
    }
}

#[test]
fn strangers_other_organizations_and_ended_sign_ins_change_no_role() {
    let app = shared_app();
    let (boss, org, _) = verified_user(app, "boss@members-attack.example");
    let (_, _, bob) = verified_user(app, "bob@members-attack.example");
    let bob_id = bob["user"]["id"].as_str().unwrap().to_owned();
    let before = stored_roles(app, &org);

    // No token, a forged one.
    let path = format!("/organization/{org}/member/{bob_id}");
    let bare = app.request(
        "PUT",
        &path,
        &[("content-type", "application/json")],
        Some(br#"{"orgRole": 255}"#),
    );
    assert_error(&bare, 401, "UNAUTHORIZED");
    assert_error(&members(app, "not.a.token", &org), 401, "UNAUTHORIZED");
    assert_error(
        &set_role(app, "not.a.token", &org, &bob_id, 255),
        401,
        "UNAUTHORIZED",
    );

    // Another organization's OWNER: neither reads nor changes, not even with an id of
    // their own organization; and this OWNER cannot reach into theirs by id.
    let (eve, eves, body) = verified_user(app, "eve@members-elsewhere.example");
    let eve_id = body["user"]["id"].as_str().unwrap().to_owned();
    assert_error(&members(app, &eve, &org), 403, "FORBIDDEN");
    assert_error(&set_role(app, &eve, &org, &bob_id, 255), 403, "FORBIDDEN");
    assert_error(&set_role(app, &eve, &org, &eve_id, 255), 403, "FORBIDDEN");
    assert_error(&set_role(app, &boss, &org, &eve_id, 0), 404, "NOT_FOUND");
    assert_error(&set_role(app, &boss, &eves, &eve_id, 0), 403, "FORBIDDEN");
    assert_eq!(
        stored_roles(app, &eves),
        vec![json!({"email": "eve@members-elsewhere.example", "role": "OWNER"})]
    );

    // A thief holding the OWNER's access token after that sign-in ended.
    let (stolen, _, body) = verified_user(app, "boss2@members-attack.example");
    let boss2_id = body["user"]["id"].as_str().unwrap();
    assert_eq!(set_role(app, &boss, &org, boss2_id, 255).status, 200);
    let logout = app.post_json(
        "/user/logout",
        &json!({"refresh_token": body["refreshToken"]}),
    );
    assert_eq!(logout.status, 200, "{}", logout.body);
    assert_error(
        &set_role(app, &stolen, &org, &bob_id, 255),
        401,
        "SESSION_ENDED",
    );
    assert_error(&members(app, &stolen, &org), 401, "SESSION_ENDED");

    // Nobody of them removes anyone: no token, a forged one, another organization's
    // OWNER, this OWNER by the other organization's ids, the ended sign-in; nor a MEMBER
    // or an ADMINISTRATOR of this one.
    let bare = app.request("DELETE", &path, &[], None);
    assert_error(&bare, 401, "UNAUTHORIZED");
    let removal = |token: &str, org: &str, user: &str| remove_member(app, token, org, user);
    assert_error(&removal("not.a.token", &org, &bob_id), 401, "UNAUTHORIZED");
    assert_error(&removal(&eve, &org, &bob_id), 403, "FORBIDDEN");
    assert_error(&removal(&boss, &org, &eve_id), 404, "NOT_FOUND");
    assert_error(&removal(&boss, &eves, &eve_id), 403, "FORBIDDEN");
    assert_error(&removal(&stolen, &org, &bob_id), 401, "SESSION_ENDED");
    let (carol, _, body) = verified_user(app, "carol@members-attack.example");
    let carol_id = body["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(set_role(app, &boss, &org, &carol_id, 254).status, 200);
    let bob_token = bob["accessToken"].as_str().unwrap();
    assert_error(&removal(bob_token, &org, &carol_id), 403, "FORBIDDEN");
    assert_error(&removal(&carol, &org, &bob_id), 403, "FORBIDDEN");
    assert_eq!(account_rows(app, &bob_id).2, 1, "Bob is a member still");
    assert_eq!(account_rows(app, &eve_id).2, 1, "so is Eve, of hers");

    // Bodies no client should send: named, nothing changed.
    for body in [
        &b"{\"orgRole\": 1}"[..],
        b"{\"orgRole\": \"OWNER\"}",
        b"{}",
        b"[255]",
        b"255 ",
    ] {
        let res = app.request(
            "PUT",
            &path,
            &[
                ("content-type", "application/json"),
                ("authorization", &format!("Bearer {boss}")),
            ],
            Some(body),
        );
        assert_error(&res, 400, "INVALID_INPUT");
    }
    let after: Vec<Value> = stored_roles(app, &org)
        .into_iter()
        .filter(|r| {
            ![
                "boss2@members-attack.example",
                "carol@members-attack.example",
            ]
            .contains(&r["email"].as_str().unwrap_or_default())
        })
        .collect();
    assert_eq!(after, before);
}

#[test]
fn an_unverified_owner_or_a_banned_organization_changes_no_role() {
    let app = shared_app();
    let fresh = sign_up(app, "fresh@members-unverified.example");
    let token = fresh["accessToken"].as_str().unwrap();
    let org = fresh["user"]["orgId"].as_str().unwrap();
    let own_id = fresh["user"]["id"].as_str().unwrap();
    assert_error(&members(app, token, org), 403, "EMAIL_NOT_VERIFIED");
    assert_error(
        &set_role(app, token, org, own_id, 254),
        403,
        "EMAIL_NOT_VERIFIED",
    );
    assert_error(
        &remove_member(app, token, org, own_id),
        403,
        "EMAIL_NOT_VERIFIED",
    );

    let (boss, org, _) = verified_user(app, "boss@members-banned.example");
    let (_, _, bob) = verified_user(app, "bob@members-banned.example");
    let bob_id = bob["user"]["id"].as_str().unwrap();
    app.d1_query(&format!(
        "UPDATE organizations SET banned = 1 WHERE id = '{org}'"
    ));
    assert_error(&set_role(app, &boss, &org, bob_id, 254), 403, "ORG_BANNED");
    assert_error(&remove_member(app, &boss, &org, bob_id), 403, "ORG_BANNED");
    assert_eq!(members(app, &boss, &org).status, 200, "reads stay possible");
    assert_eq!(
        stored_roles(app, &org)[0],
        json!({"email": "bob@members-banned.example", "role": "MEMBER"})
    );
}
