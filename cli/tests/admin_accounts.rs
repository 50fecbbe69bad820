//! `gatehouse-cli admin` for people's accounts, against the local D1 of a running
//! worker: an incident's revoke-key and end-sign-ins, and a person's export-account and
//! delete-account (their requests to see their data and to be forgotten), and what
//! they show of an OWNER's removal of a member. Each changes what the worker answers at
//! once.

mod common;

use common::{admin, count, ok};
use gatehouse_e2e::accounts::{
    legacy_membership, login_at, sign_up, user_id, verified_user, PASSWORD,
};
use gatehouse_e2e::members::remove_member;
use gatehouse_e2e::nodes::{fields, now_ms, signed, upload_new_key};
use gatehouse_e2e::shared_app;
use serde_json::{json, Value};

/// One test at a time on the shared worker: the erasure's test checks the whole
/// database after its commands (`PRAGMA foreign_key_check`), which the other test's
/// commands must not be in the middle of. Admin commands themselves are kept apart from each other and from the
/// worker's writes by `common::admin` (it holds the harness's requests while one runs).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn in_an_incident_revoke_key_and_end_sign_ins_act_without_anyones_token() {
    let app = shared_app();
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (token, org, body) = verified_user(app, "ada@incident.example");
    let (key, uploaded) = upload_new_key(app, &token, &org);
    let key_id = uploaded.json()["data"]["id"].as_str().unwrap().to_owned();
    let ts = now_ms();
    let register = |ts: i64| {
        app.post_json(
            "/register",
            &signed(&key, &fields("192.0.2.47", ts, Some(&org))),
        )
    };
    assert_eq!(register(ts).status, 200);

    // A leaked key: revoked at once, audited with no user; a second revocation says so.
    let out = ok(&admin(app, &["revoke-key", &org, &key_id]));
    assert!(out.contains(&format!("key {key_id} revoked")), "{out}");
    let refused = register(ts + 1);
    assert_eq!(refused.status, 400, "{}", refused.body);
    let audit = app.d1_query(&format!(
        "SELECT action, actor_user_id FROM key_audit WHERE key_id = '{key_id}' \
         ORDER BY at_ms DESC LIMIT 1"
    ));
    assert_eq!(audit[0], json!({"action": "REVOKE", "actor_user_id": null}));
    let again = admin(app, &["revoke-key", &org, &key_id]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("no active key"));
    let hostile = admin(app, &["revoke-key", &org, "k' OR '1'='1"]);
    assert!(!hostile.status.success(), "an id with a quote is refused");

    // An account taken over: every sign-in ends (the address in any case), so its
    // access and refresh tokens stop; the password still signs in.
    let out = ok(&admin(app, &["end-sign-ins", "Ada@Incident.example"]));
    assert!(out.contains("1 sign-in(s) ended"), "{out}");
    let profile = app.request_as(&token, "GET", "/user/profile", None);
    assert_eq!(profile.status, 401, "{}", profile.body);
    assert_eq!(profile.json()["error_code"], "SESSION_ENDED");
    let refresh = app.post_json(
        "/user/refresh",
        &json!({"refresh_token": body["refreshToken"]}),
    );
    assert_eq!(refresh.status, 401, "{}", refresh.body);
    assert_eq!(refresh.json()["error_code"], "SESSION_ENDED");
    let login = app.post_json(
        "/user/login",
        &json!({"email": "ada@incident.example", "password": PASSWORD}),
    );
    assert_eq!(login.status, 200, "{}", login.body);
    let unknown = admin(app, &["end-sign-ins", "nobody@incident.example"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account"));
}

#[test]
fn delete_account_forgets_a_person_with_what_only_they_had_and_hands_on_the_rest() {
    let app = shared_app();
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // Ada is the only member of her organization: a key, a node, a service
    // environment, a second sign-in, a mistyped password and a reset link.
    let ada = "ada@erase-sole.example";
    let (token, org, body) = verified_user(app, ada);
    let (key, _) = upload_new_key(app, &token, &org);
    let register = |ts: i64| {
        app.post_json(
            "/register",
            &signed(&key, &fields("192.0.2.48", ts, Some(&org))),
        )
    };
    assert_eq!(register(now_ms()).status, 200);
    let env = app.request_as(
        &token,
        "PUT",
        &format!("/organization/{org}/node-env/s3"),
        Some(&json!({"env": "AWS_REGION=eu-west-1\n"})),
    );
    assert!(env.status < 300, "{}", env.body);
    assert_eq!(login_at(app, "198.51.100.60", ada, PASSWORD).status, 200);
    assert_eq!(
        login_at(app, "198.51.100.61", ada, "Wrong1horse").status,
        401
    );
    let reset = app.post_json("/user/request-reset-password", &json!({"email": ada}));
    assert!(reset.status < 300, "{}", reset.body);
    let ada_id = user_id(app, ada);

    // A dry run prints the plan and changes nothing.
    let plan = ok(&admin(
        app,
        &["delete-account", "Ada@Erase-Sole.example", "--dry-run"],
    ));
    assert!(
        plan.contains(&format!("organization {org}"))
            && plan.contains(
                "its only member: deleted with its 1 key(s), 1 node(s), 1 service environment(s)"
            )
            && plan.contains("so is its row")
            && plan.ends_with("dry run: nothing changed\n"),
        "{plan}"
    );
    assert_eq!(login_at(app, "198.51.100.60", ada, PASSWORD).status, 200);

    // What she may ask to see first: everything stored about her, never a hash.
    let text = ok(&admin(app, &["export-account", ada]));
    let export: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(export["account"]["email"], ada, "{text}");
    assert_eq!(export["account"]["first_name"], "Ada", "{text}");
    assert!(export["account"]["email_verified_at"].is_string(), "{text}");
    assert_eq!(
        export["memberships"],
        json!([{"org_id": org, "org_name": "Acme",
        "role": "OWNER", "created_at": export["memberships"][0]["created_at"]}])
    );
    let counted = |field: &str| export[field].as_array().map_or(0, Vec::len);
    assert_eq!(
        [
            "signIns",
            "knownNetworks",
            "loginFailures",
            "verificationLinks",
            "resetLinks",
            "auditEntries"
        ]
        .map(counted),
        [3, 1, 1, 1, 1, 2],
        "{text}"
    );
    let actions: Vec<&Value> = export["auditEntries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["action"])
        .collect();
    assert_eq!(actions, [&json!("CREATE"), &json!("ENV_SET")], "{text}");
    assert!(!text.contains("hash") && !text.contains("pbkdf2"), "{text}");
    let unknown = admin(app, &["export-account", "nobody@erase-sole.example"]);
    assert!(common::stderr(&unknown).contains("no account"));

    // Her organization is banned: deleting it would lift the ban, so not without
    // saying so.
    ok(&admin(app, &["ban", &org]));
    let refused = admin(app, &["delete-account", ada]);
    assert!(
        common::stderr(&refused).contains("--including-banned; nothing changed"),
        "{}",
        common::text(&refused)
    );
    let out = ok(&admin(app, &["delete-account", ada, "--including-banned"]));
    assert!(
        out.contains(
            "deleted: 3 sign-in(s), 1 organization(s) with 1 key(s) and 1 node(s); 0 new OWNER(s)"
        ),
        "{out}"
    );
    // Nothing of hers answers: tokens, password, key, node.
    let profile = app.request_as(&token, "GET", "/user/profile", None);
    assert_eq!(profile.status, 401, "{}", profile.body);
    let refresh = app.post_json(
        "/user/refresh",
        &json!({"refresh_token": body["refreshToken"]}),
    );
    assert_eq!(refresh.status, 401, "{}", refresh.body);
    assert_eq!(login_at(app, "198.51.100.60", ada, PASSWORD).status, 401);
    let refused = register(now_ms() + 1);
    assert_ne!(refused.status, 200, "{}", refused.body);
    // No row names her or her organization, and every reference still holds.
    let places = [
        ("users", "id", &ada_id),
        ("users", "email", &ada.to_owned()),
        ("sign_ins", "user_id", &ada_id),
        ("email_verifications", "user_id", &ada_id),
        ("password_resets", "user_id", &ada_id),
        ("login_failures", "user_id", &ada_id),
        ("login_networks", "user_id", &ada_id),
        ("org_members", "user_id", &ada_id),
        ("organizations", "id", &org),
        ("subscriptions", "org_id", &org),
        ("org_keys", "org_id", &org),
        ("nodes", "org_id", &org),
        ("node_envs", "org_id", &org),
        ("key_audit", "org_id", &org),
        ("key_audit", "actor_user_id", &ada_id),
    ];
    // One query (each is a wrangler run): a column per table and column.
    let columns: Vec<String> = places
        .iter()
        .map(|(table, column, value)| {
            format!(
                "(SELECT count(*) FROM {table} WHERE {column} = '{value}') AS \"{table}.{column}\""
            )
        })
        .collect();
    let left = &app.d1_query(&format!("SELECT {}", columns.join(", ")))[0];
    for (table, column, _) in places {
        assert_eq!(
            left[format!("{table}.{column}")],
            0,
            "{table}.{column} keeps her"
        );
    }
    assert_eq!(
        app.d1_query("PRAGMA foreign_key_check"),
        Vec::<Value>::new()
    );
    // The address, and its domain's organization, are free again.
    let again = sign_up(app, ada);
    assert_ne!(again["user"]["orgId"], json!(org));

    // A company: its founder (the only verified OWNER, who added a key) leaves; a
    // verified colleague becomes OWNER, not the unverified one who joined earlier (and
    // holds OWNER from before verification was required: they cannot act); the key and
    // its audit entry stay with the company, the entry naming an id that holds nothing.
    let boss = "boss@erase-co.example";
    let (boss_token, company, _) = verified_user(app, boss);
    upload_new_key(app, &boss_token, &company);
    // (Its membership from before sign-ups joined only once verified, written straight
    // into D1 as such a row is.)
    let early = sign_up(app, "early@erase-co.example");
    assert_ne!(early["user"]["orgId"], json!(company));
    legacy_membership(app, &company, early["user"]["id"].as_str().unwrap());
    let (mia_token, mias, _) = verified_user(app, "mia@erase-co.example");
    assert_eq!(mias, company);
    let boss_id = user_id(app, boss);
    let early_id = user_id(app, "early@erase-co.example");
    app.d1_query(&format!(
        "UPDATE org_members SET role = 'OWNER' WHERE user_id = '{early_id}'"
    ));
    let plan = ok(&admin(app, &["delete-account", boss, "--dry-run"]));
    assert!(
        plan.contains("2 other member(s): stays; its OWNER role passes to mia@erase-co.example")
            && plan.contains(&format!("1 audit entries of organizations that stay keep its id, and its row stays with nothing personal (erased:{boss_id})")),
        "{plan}"
    );
    let out = ok(&admin(app, &["delete-account", boss]));
    assert!(
        out.contains("0 organization(s) with 0 key(s) and 0 node(s); 1 new OWNER(s)"),
        "{out}"
    );
    let roles = app.d1_query(&format!(
        "SELECT u.email, m.role FROM org_members m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = '{company}' ORDER BY u.email"
    ));
    assert_eq!(
        roles,
        json!([
            {"email": "early@erase-co.example", "role": "OWNER"},
            {"email": "mia@erase-co.example", "role": "OWNER"},
        ])
        .as_array()
        .unwrap()
        .clone()
    );
    let anchor = app.d1_query(&format!(
        "SELECT email, password_hash, first_name, last_name, image_url FROM users \
         WHERE id = '{boss_id}'"
    ));
    assert_eq!(
        anchor,
        vec![
            json!({"email": format!("erased:{boss_id}"), "password_hash": "", "first_name": "",
            "last_name": "", "image_url": null})
        ]
    );
    assert_eq!(
        count(
            app,
            &format!("SELECT count(*) AS n FROM key_audit WHERE actor_user_id = '{boss_id}'")
        ),
        1
    );
    let keys = app.request_as(
        &mia_token,
        "GET",
        &format!("/organization/{company}/key"),
        None,
    );
    assert_eq!(keys.status, 200, "{}", keys.body);
    assert_eq!(
        keys.json()["data"].as_array().unwrap().len(),
        1,
        "{}",
        keys.body
    );
    assert_eq!(login_at(app, "198.51.100.62", boss, PASSWORD).status, 401);
    assert_eq!(
        app.d1_query("PRAGMA foreign_key_check"),
        Vec::<Value>::new()
    );

    // Done is done (the address is nobody's now); a hostile one changes nothing.
    for email in [boss, "o'k@erase-co.example"] {
        let out = admin(app, &["delete-account", email]);
        assert!(!out.status.success());
        assert!(
            common::stderr(&out).contains("no account"),
            "{}",
            common::text(&out)
        );
    }
    assert_eq!(
        count(
            app,
            &format!("SELECT count(*) AS n FROM org_members WHERE org_id = '{company}'")
        ),
        2
    );

    // The others leave too; the last one takes the company, its key and its audit, and
    // with the audit the boss's row, which nothing names any more.
    ok(&admin(app, &["delete-account", "early@erase-co.example"]));
    let out = ok(&admin(app, &["delete-account", "mia@erase-co.example"]));
    assert!(
        out.contains("1 organization(s) with 1 key(s)")
            && out.contains("also deleted: 1 row(s) of accounts erased earlier"),
        "{out}"
    );
    let left = &app.d1_query(&format!(
        "SELECT (SELECT count(*) FROM users WHERE id = '{boss_id}') AS boss, \
         (SELECT count(*) FROM organizations WHERE id = '{company}') AS company"
    ))[0];
    assert_eq!(left, &json!({"boss": 0, "company": 0}));
    assert_eq!(
        app.d1_query("PRAGMA foreign_key_check"),
        Vec::<Value>::new()
    );
}

#[test]
fn a_removal_is_in_the_removed_persons_export_and_the_operators_key_audit() {
    let app = shared_app();
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (boss, org, _) = verified_user(app, "boss@removed-export.example");
    let (_, _, bob) = verified_user(app, "bob@removed-export.example");
    let bob_id = bob["user"]["id"].as_str().unwrap().to_owned();
    // Bob is also a member elsewhere (from before domain claims needed verification),
    // so his account outlives the removal, and with it what names him.
    let (_, elsewhere, _) = verified_user(app, "eve@removed-export-elsewhere.example");
    legacy_membership(app, &elsewhere, &bob_id);
    assert_eq!(remove_member(app, &boss, &org, &bob_id).status, 200);

    let text = ok(&admin(
        app,
        &["export-account", "bob@removed-export.example"],
    ));
    let export: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let entries = export["auditEntries"].as_array().expect("auditEntries");
    assert_eq!(entries.len(), 1, "{text}");
    assert_eq!(
        (
            &entries[0]["org_id"],
            &entries[0]["action"],
            &entries[0]["key_id"]
        ),
        (&json!(org), &json!("MEMBER_REMOVED"), &json!(bob_id)),
        "{text}"
    );
    assert_eq!(
        export["memberships"][0]["org_id"],
        json!(elsewhere),
        "{text}"
    );

    let listed = ok(&admin(app, &["key-audit", "--org", &org, "--limit", "1"]));
    assert!(
        listed.contains("\"member_email\": \"bob@removed-export.example\"")
            && listed.contains("\"action\": \"MEMBER_REMOVED\"")
            && listed.contains("\"actor_email\": \"boss@removed-export.example\""),
        "{listed}"
    );
}
