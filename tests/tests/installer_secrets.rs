//! The node installer end to end (issue 27): an organization sets its service
//! environments, then the installer's two requests — `POST /secrets` and `POST
//! /register` — go out exactly as `rollout_node.sh` sends them (openssl signatures over
//! `ip|region|timestamp`, `jq -nc` payloads, a JSON number timestamp, only
//! `Content-Type`), and the answer is decrypted with the same openssl commands. Then
//! what a captured request, another organization's key, a ban, a revocation or a
//! missing environment get. One shared worker; each test its own people and addresses.

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::accounts::{link_token, login_at, reset_link, verified_user};
use gatehouse_e2e::flashback::{installer_payload_without_provider, installer_post, json_reply};
use gatehouse_e2e::node_env::{
    installer_decrypt, message, owner_with_key, post_secrets, secrets_payload, set_all_envs,
    set_env, upload_key,
};
use gatehouse_e2e::nodes::now_ms;
use gatehouse_e2e::{shared_app, TestApp};
use serde_json::{json, Value};

const REGION: &str = "eu-central-1";

/// Revokes `key_id` of `org` as `token`; then `/secrets` refuses what `pem` signs at
/// `signed_at` (seconds), as it refuses a key it never had.
fn revoke_then_refused(
    app: &TestApp,
    token: &str,
    org: &str,
    key_id: &str,
    pem: &str,
    signed_at: i64,
) {
    let path = format!("/organization/{org}/key/{key_id}");
    let res = app.request_as(token, "DELETE", &path, None);
    assert_eq!(res.status, 200, "{}", res.body);
    let res = post_secrets(
        app,
        &secrets_payload(pem, "198.51.100.73", REGION, org, signed_at),
    );
    assert_eq!(
        (res.status, message(&res)),
        (400, "Invalid signature".to_owned())
    );
}

fn seconds() -> i64 {
    now_ms() / 1000
}

#[test]
fn the_installer_fetches_its_environments_then_registers_with_its_own_tools() {
    let app = shared_app();
    let (token, org, pem) = owner_with_key(app, "ada@install.secrets.example");
    let files = set_all_envs(app, &token, &org);

    // Step 5: POST /secrets, as the installer builds and sends it.
    let ip = "198.51.100.70";
    let secrets_signed_at = seconds();
    let res = post_secrets(
        app,
        &secrets_payload(&pem, ip, REGION, &org, secrets_signed_at),
    );
    let answer = json_reply(&res, 200);
    // One RSA public operation for the organization's one key; two D1 round trips (the
    // keys, then the claim with the files).
    assert_eq!(res.header("x-gatehouse-rsa-verifications"), Some("1"));
    assert_eq!(res.header("x-gatehouse-d1-round-trips"), Some("2"));
    for (service, file) in &files {
        // Only the encrypted form: the installer would take a plain one as is.
        assert!(answer.get(format!("env_{service}")).is_none(), "{answer}");
        assert!(answer[format!("env_{service}_enc")].is_string(), "{answer}");
        let decrypted = installer_decrypt(&res.body, &pem, service).expect("the installer's steps");
        assert_eq!(String::from_utf8(decrypted).unwrap(), *file, "{service}");
    }
    // Another key cannot read it: the answer is for the signing key alone.
    let other = PrivateKey::generate(2048).unwrap().to_pkcs8_pem();
    assert!(installer_decrypt(&res.body, &other, "s3").is_err());

    // Step 6 starts the node's services, so step 7 is signed in a later second. (Both
    // sign `ip|region|timestamp`: in the same second the two signatures would be one,
    // and /register refuses a signature /secrets has used — see
    // a_captured_secrets_request_is_answered_once_and_never_registers.)
    while seconds() <= secrets_signed_at {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Step 7: the final /register, run without -p (no provider), same tools.
    let payload = installer_payload_without_provider(&pem, ip, "id_org", &org, seconds());
    let res = installer_post(app, "/register", &payload);
    assert_eq!(
        json_reply(&res, 200),
        json!({"success": true, "message": "Registration successful"})
    );
    let rows = app.d1_query(&format!(
        "SELECT provider, status FROM nodes WHERE org_id = '{org}' AND ip = '{ip}'"
    ));
    assert_eq!(
        rows,
        vec![json!({"provider": "UNKNOWN", "status": "running"})]
    );
}

#[test]
fn what_is_stored_and_listed_never_shows_a_file() {
    let app = shared_app();
    let (token, org, _) = verified_user(app, "grace@stored.secrets.example");
    let files = set_all_envs(app, &token, &org);
    let sealed = app.d1_query(&format!(
        "SELECT sealed FROM node_envs WHERE org_id = '{org}'"
    ));
    assert_eq!(sealed.len(), 3);
    for row in &sealed {
        let text = row["sealed"].as_str().unwrap();
        assert!(
            text.starts_with("v1.") && !text.contains("ACCESS_KEY"),
            "{text}"
        );
    }
    let res = app.request_as(
        &token,
        "GET",
        &format!("/organization/{org}/node-env"),
        None,
    );
    let list = json_reply(&res, 200);
    assert!(!res.body.contains("ACCESS_KEY") && !res.body.contains("s3cr3t"));
    let services: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["service"].as_str().unwrap())
        .collect();
    assert_eq!(services, ["s3", "gcs", "blob"]);
    assert_eq!(list["data"][0]["sizeBytes"], json!(files[0].1.len()));
    assert_eq!(list["missing"], json!([]));
    // Every change is in the key audit trail, by whom.
    let res = app.request_as(
        &token,
        "DELETE",
        &format!("/organization/{org}/node-env/gcs"),
        None,
    );
    assert_eq!(res.status, 200, "{}", res.body);
    let audit = app.d1_query(&format!(
        "SELECT key_id, action FROM key_audit WHERE org_id = '{org}' AND action LIKE 'ENV_%' \
         AND actor_user_id IS NOT NULL ORDER BY at_ms, action DESC, key_id"
    ));
    assert_eq!(audit.len(), 4, "{audit:?}");
    assert!(audit.contains(&json!({"key_id": "gcs", "action": "ENV_DELETE"})));
    let res = app.request_as(
        &token,
        "GET",
        &format!("/organization/{org}/node-env"),
        None,
    );
    assert_eq!(json_reply(&res, 200)["missing"], json!(["gcs"]));
    // Deleting what is not there is a 404.
    let res = app.request_as(
        &token,
        "DELETE",
        &format!("/organization/{org}/node-env/gcs"),
        None,
    );
    assert_eq!(res.status, 404, "{}", res.body);
}

#[test]
fn a_captured_secrets_request_is_answered_once_and_never_registers() {
    let app = shared_app();
    let (token, org, _) = verified_user(app, "replay@captured.secrets.example");
    set_all_envs(app, &token, &org);
    let (pem, _) = upload_key(app, &token, &org);
    let payload = secrets_payload(&pem, "198.51.100.71", REGION, &org, seconds());
    assert_eq!(post_secrets(app, &payload).status, 200);
    let again = post_secrets(app, &payload);
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(message(&again).starts_with("Replay"), "{}", again.body);
    // The same signature on /register (same signed message) is a replay too.
    let v: Value = serde_json::from_str(&payload).unwrap();
    let mut register = v.clone();
    register["status"] = json!("running");
    register["version"] = json!("0.0.28");
    let res = installer_post(app, "/register", &register.to_string());
    assert_eq!(res.status, 400, "{}", res.body);
    assert!(message(&res).starts_with("Replay"), "{}", res.body);
    // A stale timestamp is refused before anything is looked up.
    let stale = secrets_payload(&pem, "198.51.100.71", REGION, &org, seconds() - 3600);
    let res = post_secrets(app, &stale);
    assert_eq!(res.status, 400);
    assert!(
        message(&res).starts_with("Timestamp outside"),
        "{}",
        res.body
    );
}

#[test]
fn another_organizations_key_learns_nothing_an_unknown_organization_would_not() {
    let app = shared_app();
    let (token_a, org_a, _) = verified_user(app, "alice@a.secrets.example");
    let (token_b, org_b, _) = verified_user(app, "bob@b.secrets.example");
    set_all_envs(app, &token_a, &org_a);
    set_all_envs(app, &token_b, &org_b);
    let (pem_b, _) = upload_key(app, &token_b, &org_b);
    // Bob's key, naming Alice's organization: refused, as an organization that does
    // not exist is, body for body.
    let named_a = post_secrets(
        app,
        &secrets_payload(&pem_b, "198.51.100.72", REGION, &org_a, seconds()),
    );
    let unknown = post_secrets(
        app,
        &secrets_payload(
            &pem_b,
            "198.51.100.72",
            REGION,
            "no-such-org",
            seconds() - 1,
        ),
    );
    assert_eq!(named_a.status, 400, "{}", named_a.body);
    assert_eq!(
        (named_a.status, named_a.body.clone()),
        (unknown.status, unknown.body)
    );
    assert_eq!(message(&named_a), "Invalid signature");
    // An unsigned field changed in transit (id_org) does not move the answer either.
    let forged = secrets_payload(&pem_b, "198.51.100.72", REGION, &org_b, seconds() - 2)
        .replace(&org_b, &org_a);
    assert_eq!(post_secrets(app, &forged).body, named_a.body);
}

#[test]
fn a_banned_organization_or_a_revoked_key_gets_no_environment() {
    let app = shared_app();
    let (token, org, _) = verified_user(app, "carol@banned.secrets.example");
    set_all_envs(app, &token, &org);
    let (pem, key_id) = upload_key(app, &token, &org);
    let (pem2, _) = upload_key(app, &token, &org);
    // Revoked: the key no longer verifies, whatever it signs.
    revoke_then_refused(app, &token, &org, &key_id, &pem, seconds());
    // Banned: the signature verifies, and is told the organization is unusable.
    app.d1_query(&format!(
        "UPDATE organizations SET banned = 1 WHERE id = '{org}'"
    ));
    let res = post_secrets(
        app,
        &secrets_payload(&pem2, "198.51.100.73", REGION, &org, seconds()),
    );
    assert_eq!(
        (res.status, message(&res)),
        (400, "Unknown or banned organization".to_owned())
    );
    assert!(!res.body.contains("env_"));
}

/// A thief holding an OWNER's access token for a moment uploads a key of their own:
/// with it `/secrets` answers the environments (readable by the key's holder, which
/// the thief is), and a password reset ends the thief's sign-in but not the key. What
/// holds: the owner's address is told of every key added and environment set with
/// their sign-in, with the key's id and how to undo it, and revoking the key as the
/// mail says ends the access (SECURITY.md, "Threat model", Stolen access token).
#[test]
fn a_key_added_with_a_stolen_token_is_mailed_to_the_owner_and_its_revocation_ends_the_access() {
    let app = shared_app();
    let email = "erin@stolen.secrets.example";
    let (stolen, org, _) = verified_user(app, email);
    set_all_envs(app, &stolen, &org);
    let (thief_pem, key_id) = upload_key(app, &stolen, &org);
    let res = post_secrets(
        app,
        &secrets_payload(&thief_pem, "198.51.100.75", REGION, &org, seconds()),
    );
    assert_eq!(res.status, 200, "{}", res.body);

    // The verification, three environment notices and the key's.
    let mails = app.wait_for_emails(email, 5);
    let with_subject =
        |subject: &str| -> Vec<_> { mails.iter().filter(|m| m.subject == subject).collect() };
    let key_notices = with_subject("A key was added to your organization");
    assert_eq!(key_notices.len(), 1, "{mails:?}");
    let revocation = format!("DELETE /organization/{org}/key/{key_id}");
    assert!(
        key_notices[0].text.contains(&revocation),
        "{}",
        key_notices[0].text
    );
    assert!(key_notices[0].text.contains("reset your password"));
    let env_notices = with_subject("A service environment of your organization was set");
    assert_eq!(env_notices.len(), 3, "{mails:?}");

    // The owner does what the mail says: a reset, which stops the stolen token at once…
    let asked = app.post_json("/user/request-reset-password", &json!({"email": email}));
    assert_eq!(asked.status, 200, "{}", asked.body);
    let mails = app.wait_for_emails(email, 6);
    let reset_mail = mails
        .iter()
        .find(|m| m.subject == "Reset your password")
        .expect("reset mail");
    let reset = app.post_json(
        "/user/reset-password",
        &json!({"token": link_token(&reset_link(reset_mail)), "newPassword": "Another1horse"}),
    );
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_eq!(
        app.request_as(&stolen, "GET", "/user/profile", None).status,
        401
    );
    // …but not the key: the environments are still the thief's to fetch.
    let res = post_secrets(
        app,
        &secrets_payload(&thief_pem, "198.51.100.75", REGION, &org, seconds() + 1),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    // Then the revocation the mail names, which ends it.
    let login = login_at(app, "198.51.100.9", email, "Another1horse");
    assert_eq!(login.status, 200, "{}", login.body);
    let owner = login.json()["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    revoke_then_refused(app, &owner, &org, &key_id, &thief_pem, seconds() + 2);
}

#[test]
fn an_organization_without_environments_is_told_what_to_configure() {
    let app = shared_app();
    let (token, org, _) = verified_user(app, "dave@unset.secrets.example");
    let (pem, _) = upload_key(app, &token, &org);
    let res = post_secrets(
        app,
        &secrets_payload(&pem, "198.51.100.74", REGION, &org, seconds()),
    );
    assert_eq!(res.status, 404, "{}", res.body);
    assert!(message(&res).contains("s3, gcs, blob"), "{}", res.body);
    assert!(message(&res).contains("PUT /organization/{idOrg}/node-env/{service}"));
    // One set, two still missing: named.
    assert_eq!(set_env(app, &token, &org, "s3", "A=1\n").status, 200);
    let res = post_secrets(
        app,
        // A second later: the same second would be the same signature, a replay.
        &secrets_payload(&pem, "198.51.100.74", REGION, &org, seconds() + 1),
    );
    assert_eq!(res.status, 404, "{}", res.body);
    assert!(message(&res).contains("for gcs, blob "), "{}", res.body);
}

#[test]
fn malformed_and_oversized_secrets_requests_are_refused_clearly() {
    let app = shared_app();
    let (token, org, _) = verified_user(app, "erin@malformed.secrets.example");
    let (pem, _) = upload_key(app, &token, &org);
    let good: Value = serde_json::from_str(&secrets_payload(
        &pem,
        "198.51.100.75",
        REGION,
        &org,
        seconds(),
    ))
    .unwrap();
    let with = |name: &str, value: Value| {
        let mut v = good.clone();
        if value.is_null() {
            v.as_object_mut().unwrap().remove(name);
        } else {
            v[name] = value;
        }
        post_secrets(app, &v.to_string())
    };
    for (res, says) in [
        (post_secrets(app, "{\"ip\":"), "Invalid JSON body"),
        (with("id_org", Value::Null), "Missing required fields"),
        (
            with(
                "timestamp",
                json!(good["timestamp"].as_i64().unwrap() * 1000),
            ),
            "Unix seconds",
        ),
        (
            with("timestamp", json!(good["timestamp"].to_string())),
            "Invalid timestamp",
        ),
        (with("ip", json!("127.0.0.1")), "Invalid ip"),
        (with("region", json!("eu central")), "Invalid region"),
        (
            with("signature", json!("bm90IGEgc2lnbmF0dXJl")),
            "Invalid signature",
        ),
    ] {
        assert_eq!(res.status, 400, "{says}: {}", res.body);
        assert!(message(&res).contains(says), "{says}: {}", res.body);
    }
    let huge = format!("{{\"ip\":\"{}\"}}", "1".repeat(70 * 1024));
    let res = post_secrets(app, &huge);
    assert_eq!(res.status, 413, "{}", res.body);
    assert_eq!(res.json()["success"], json!(false));
}
