//! Security round 3, organization keys and node secrets: a stranger's copy of a public
//! key, expensive key generation on demand, and guessing node secrets — each test
//! sends the attacker's requests and holds the answer (SECURITY.md names each). All but
//! key generation, which turns the rate limiter on, share one worker.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_core::org_keys::possession_message;
use gatehouse_e2e::accounts::{assert_error, verified_user};
use gatehouse_e2e::flashback::client_call;
use gatehouse_e2e::nodes::{installer_body, nodes_at, now_ms, register, upload_new_key};
use gatehouse_e2e::rate_window::{assert_retry_after_ends_window, in_one_window};
use gatehouse_e2e::{shared_app, spawn_app_with, TestApp, TestResponse};
use serde_json::{json, Value};

fn upload(app: &TestApp, token: &str, org: &str, body: Value) -> TestResponse {
    app.post_json_as(token, &format!("/organization/{org}/key"), &body)
}

fn active_keys(app: &TestApp, token: &str, org: &str) -> usize {
    let res = app.request_as(token, "GET", &format!("/organization/{org}/key"), None);
    assert_eq!(res.status, 200, "{}", res.body);
    res.json()["data"].as_array().map_or(0, Vec::len)
}

/// The installer-form registration's refusal of a key uploaded without proof.
fn assert_unproven_key(res: &TestResponse) {
    assert_eq!(res.status, 400, "{}", res.body);
    let message = res.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.starts_with("This key was uploaded without proof of possession"),
        "{}",
        res.body
    );
}

#[test]
fn a_copied_public_key_never_captures_the_owners_node_and_yields_to_proof() {
    let app = shared_app();
    let (owner, owner_org, _) = verified_user(app, "owner@keys.example");
    let (squatter, squat_org, _) = verified_user(app, "mallory@evil.example");
    let key = PrivateKey::generate(2048).unwrap();
    let pem = key.public_key().to_spki_pem();

    // Public keys are public: the squatter uploads the owner's before the owner does.
    let copy = upload(app, &squatter, &squat_org, json!({ "publicKey": pem }));
    assert_eq!(copy.status, 201, "{}", copy.body);
    // The owner's node starts (the installer's form: id_org is not signed). Captured
    // and re-sent naming the squatter's organization, it still lands nowhere.
    let ip = "203.0.113.70";
    let secs = now_ms() / 1000;
    let honest = installer_body(&key, ip, secs, &owner_org);
    let res = app.post_json("/register", &honest);
    assert_eq!(res.json()["message"], "Invalid signature", "{}", res.body);
    let mut swapped = honest.clone();
    swapped["id_org"] = json!(squat_org);
    assert_unproven_key(&app.post_json("/register", &swapped));
    assert!(nodes_at(app, ip).is_empty());
    // Nor once the squatter has a node of its own at the address (registered with its
    // own key, in the v1 form, which signs the organization): the copy verifies none
    // of the owner's heartbeats there, so they neither keep the squatter's node alive
    // nor rewrite it, and the squatter's own key is not displaced from it.
    let (own_key, _) = upload_new_key(app, &squatter, &squat_org);
    let res = register(app, &own_key, ip, (secs - 2) * 1000, Some(&squat_org));
    assert_eq!(res.status, 200, "{}", res.body);
    let squatters_node =
        format!("SELECT key_id, region, last_signed_at_ms FROM nodes WHERE ip = '{ip}'");
    let before = app.d1_query(&squatters_node);
    assert_unproven_key(&app.post_json("/register", &swapped));
    // Nor in the v1 form without id_org, which signs no organization: the squatter's
    // organization is the only one at the address, and its copy verifies.
    assert_unproven_key(&register(app, &key, ip, now_ms(), None));
    assert_eq!(app.d1_query(&squatters_node), before);

    // The owner cannot upload it while the copy is active without proof…
    assert_error(
        &upload(app, &owner, &owner_org, json!({ "publicKey": pem })),
        409,
        "KEY_EXISTS",
    );
    // …a proof made for another organization does not count…
    let proof_for = |org: &str| STANDARD.encode(key.sign(possession_message(org).as_bytes()));
    let wrong = upload(
        app,
        &owner,
        &owner_org,
        json!({ "publicKey": pem, "proof": proof_for(&squat_org) }),
    );
    assert_error(&wrong, 400, "INVALID_INPUT");
    // …and with the proof, the owner's upload wins: the copy is revoked and audited.
    let proven = upload(
        app,
        &owner,
        &owner_org,
        json!({ "publicKey": pem, "proof": proof_for(&owner_org) }),
    );
    assert_eq!(proven.status, 201, "{}", proven.body);
    assert_eq!(
        active_keys(app, &squatter, &squat_org),
        1,
        "its own key only"
    );
    let audit = app.d1_query(&format!(
        "SELECT action FROM key_audit WHERE org_id = '{squat_org}' ORDER BY at_ms"
    ));
    assert_eq!(
        audit,
        vec![
            json!({"action": "CREATE"}),
            json!({"action": "CREATE"}),
            json!({"action": "REVOKE"})
        ]
    );
    // The squatter's trail and mail say what happened and name nobody of the owner's
    // organization: the revocation has no actor, and its OWNER is told (after the
    // verification mail and the notices of its own two uploads) without the owner's
    // address.
    let trail = app.request_as(
        &squatter,
        "GET",
        &format!("/organization/{squat_org}/audit"),
        None,
    );
    assert_eq!(trail.status, 200, "{}", trail.body);
    assert_eq!(trail.json()["data"][0]["action"], "REVOKE");
    assert_eq!(trail.json()["data"][0]["actor"], Value::Null);
    assert!(!trail.body.contains("owner@keys.example"), "{}", trail.body);
    let told = app.wait_for_emails("mallory@evil.example", 4);
    let revoked = told
        .iter()
        .find(|m| m.subject == "A key of your organization was revoked")
        .expect("the squatter's OWNER is told");
    assert!(revoked.text.contains(&squat_org), "{}", revoked.text);
    assert!(!revoked.text.contains("owner@keys.example") && !revoked.html.contains("owner@"));
    // The squatter cannot take it back without the private half.
    assert_error(
        &upload(app, &squatter, &squat_org, json!({ "publicKey": pem })),
        409,
        "KEY_EXISTS",
    );
    // The owner's node now registers where it belongs, in the installer's form.
    let res = app.post_json("/register", &installer_body(&key, ip, secs + 1, &owner_org));
    assert_eq!(res.status, 200, "{}", res.body);
    let mut both = vec![owner_org, squat_org];
    both.sort();
    assert_eq!(nodes_at(app, ip), both);
}

#[test]
fn a_key_revoked_by_a_squatter_is_its_owners_to_upload() {
    let app = shared_app();
    let (owner, owner_org, _) = verified_user(app, "owner@revoked.example");
    let (squatter, squat_org, _) = verified_user(app, "mallory@revoked-evil.example");
    let key = PrivateKey::generate(2048).unwrap();
    let pem = key.public_key().to_spki_pem();
    let copy = upload(app, &squatter, &squat_org, json!({ "publicKey": pem }));
    let key_id = copy.json()["data"]["id"].as_str().unwrap().to_owned();
    let revoke = app.request_as(
        &squatter,
        "DELETE",
        &format!("/organization/{squat_org}/key/{key_id}"),
        None,
    );
    assert_eq!(revoke.status, 200, "{}", revoke.body);
    // Refused only while active elsewhere: the owner may now add it, proof or not.
    let res = upload(app, &owner, &owner_org, json!({ "publicKey": pem }));
    assert_eq!(res.status, 201, "{}", res.body);
}

fn generated(res: &TestResponse) -> u32 {
    res.header("x-gatehouse-rsa-generations")
        .expect("test hooks report key generations")
        .parse()
        .unwrap()
}

/// The client's `generateOrgKey`: POST with no body (`Content-Length: 0`) and no
/// Accept of its own, as `client_call` sends it.
fn generate(app: &TestApp, token: &str, org: &str) -> TestResponse {
    client_call(
        app,
        Some(token),
        "POST",
        &format!("organization/{org}/key"),
        None,
    )
}

#[test]
fn key_generation_comes_after_role_quota_and_pace() {
    let app = spawn_app_with(&[("RATE_LIMITS", "on"), ("ORGKEYS_MAX", "1")]);
    // The organization's requests must fall in one of the limiter's minutes, one of
    // them a key generation (seconds of CPU on a loaded machine): a burst that crossed
    // a minute's end is made again in a new organization. What a crossing changes (the
    // last answer) is held after it.
    let (_, res) = in_one_window(40, |attempt| {
        let domain = format!("keygen{attempt}-acme.io");
        let (owner, org, _) = verified_user(&app, &format!("founder@{domain}"));
        let (member, member_org, _) = verified_user(&app, &format!("colleague@{domain}"));
        assert_eq!(
            member_org, org,
            "the colleague joined the founder's organization"
        );
        // A member may not manage keys: refused before any CPU is spent.
        let res = generate(&app, &member, &org);
        assert_error(&res, 403, "FORBIDDEN");
        assert_eq!(generated(&res), 0);
        // The owner's first generation works; with the quota full, the next ones are
        // refused before generating…
        let res = generate(&app, &owner, &org);
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(generated(&res), 1);
        for _ in 0..8 {
            let res = generate(&app, &owner, &org);
            assert_error(&res, 400, "QUOTA_EXCEEDED");
            assert_eq!(generated(&res), 0);
        }
        assert_error(&generate(&app, &owner, &org), 400, "QUOTA_EXCEEDED");
        generate(&app, &owner, &org)
    });
    // …and past 10 requests a minute for one organization, refused outright.
    assert_eq!(res.status, 429, "{}", res.body);
    assert_eq!(res.json()["error_code"], "RATE_LIMITED");
    assert_eq!(generated(&res), 0);
}

fn node_secret(app: &TestApp, node_id: &str, secret: &str) -> TestResponse {
    app.post_json(
        "/register_node_secret",
        &json!({"node_id": node_id, "secret": secret}),
    )
}

#[test]
fn node_secrets_cannot_be_guessed_online() {
    let app = shared_app();
    let honest = node_secret(app, "node-guarded", "the-real-secret");
    assert_eq!(honest.status, 200, "{}", honest.body);
    assert_eq!(
        node_secret(app, "node-guarded", "the-real-secret").body,
        r#"{"node_id":"node-guarded","registered":true}"#
    );
    // Ten guesses get Infera's 409…
    let first_guess = std::time::Instant::now();
    for i in 0..10 {
        let res = node_secret(app, "node-guarded", &format!("guess-{i}"));
        assert_eq!(res.status, 409, "guess {i}: {}", res.body);
        assert_eq!(res.body, r#"{"detail":"Node already registered"}"#);
    }
    // …then the node id stops answering guesses, even a right one, for an hour.
    for secret in ["guess-10", "the-real-secret"] {
        let res = node_secret(app, "node-guarded", secret);
        assert_eq!(res.status, 429, "{}", res.body);
        assert_eq!(
            res.body,
            r#"{"detail":"Too many wrong secrets for this node_id; try again later"}"#
        );
        // The hour counts from the first wrong guess (however long a loaded machine
        // took over the guesses since).
        assert_retry_after_ends_window(&res, 3600, first_guess);
    }
    // Other node ids are not affected; a new one registers as always.
    assert_eq!(node_secret(app, "node-other", "s").status, 200);
    assert_eq!(node_secret(app, "node-other", "s").status, 200);
    // After the window the node id answers again (the stored counter, aged by an hour).
    app.d1_execute(
        "UPDATE node_secrets SET failed_since_ms = failed_since_ms - 3600000 \
         WHERE node_id = 'node-guarded'",
    )
    .expect("age the window");
    assert_eq!(
        node_secret(app, "node-guarded", "the-real-secret").status,
        200
    );
    assert_eq!(node_secret(app, "node-guarded", "guess-11").status, 409);
}
