//! Flashback's own tools against gatehouse, unchanged: the public TypeScript client's
//! organization key calls (`generateOrgKey`, `getOrgKeys`, `deleteOrgKey`,
//! `deleteOrgKeys`), with the exact method, path, headers and body bytes it sends
//! (tests/src/flashback.rs).

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::accounts::verified_user;
use gatehouse_e2e::flashback::{client_call, client_registration, json_reply};
use gatehouse_e2e::nodes::now_ms;
use gatehouse_e2e::shared_app;
use serde_json::json;

#[test]
fn organization_key_calls_answer_the_clients_types() {
    let app = shared_app();
    let (token, org, _) = verified_user(app, "ada@keys.acme.io");
    let bearer = Some(token.as_str());
    let keys_path = format!("organization/{org}/key");
    let first: String = serde_json::from_value(json_reply(
        &client_call(app, bearer, "POST", &keys_path, None),
        200,
    ))
    .unwrap();
    let second: String = serde_json::from_value(json_reply(
        &client_call(app, bearer, "POST", &keys_path, None),
        200,
    ))
    .unwrap();
    let key = PrivateKey::from_pem(&first).unwrap();
    let body = client_registration(&key, "192.0.2.40", &org, now_ms(), 1);
    json_reply(
        &client_call(app, bearer, "POST", "register", Some(&body)),
        200,
    );

    // getOrgKeys: {success, data: [{id, orgId, publicKey, createdAt, nodeKeys}], message}.
    let listing = json_reply(&client_call(app, bearer, "GET", &keys_path, None), 200);
    assert_eq!(listing["success"], true);
    assert!(listing["message"].is_string());
    let data = listing["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    // Newest first, each with its creation time.
    let created: Vec<i64> = data
        .iter()
        .map(|k| {
            let at = k["createdAt"].as_str().expect("createdAt is a string");
            gatehouse_core::time::parse_rfc3339_ms(at).expect("a date-time")
        })
        .collect();
    assert!(created[0] >= created[1], "{created:?}");
    let used = data
        .iter()
        .find(|k| k["publicKey"] == json!(key.public_key().to_spki_pem()))
        .expect("the first key is listed");
    assert_eq!(used["orgId"], json!(org));
    assert_eq!(
        used["nodeKeys"],
        json!([{"keyId": used["id"], "nodeId": "192.0.2.40"}])
    );
    let unused = data.iter().find(|k| k["id"] != used["id"]).unwrap();
    assert_eq!(
        unused["publicKey"],
        json!(PrivateKey::from_pem(&second)
            .unwrap()
            .public_key()
            .to_spki_pem())
    );

    // deleteOrgKey: DELETE …/key/{id}, no body.
    let unused_path = format!("{keys_path}/{}", unused["id"].as_str().unwrap());
    let delete_unused = || client_call(app, bearer, "DELETE", &unused_path, None);
    let answer = json_reply(&delete_unused(), 200);
    assert_eq!(answer["success"], true);
    assert!(answer["message"].is_string());
    // The same call again: 404, the body the client's HttpError carries.
    let gone = json_reply(&delete_unused(), 404);
    assert_eq!(
        (&gone["success"], &gone["error_code"]),
        (&json!(false), &json!("NOT_FOUND"))
    );
    // deleteOrgKeys: DELETE …/key, no body: every remaining active key.
    let res = client_call(app, bearer, "DELETE", &keys_path, None);
    assert_eq!(
        json_reply(&res, 200),
        json!({"success": true, "message": "Successfully deleted 1 organization key(s)"})
    );
    assert_eq!(
        json_reply(&client_call(app, bearer, "GET", &keys_path, None), 200)["data"],
        json!([])
    );
    let refused = client_call(
        app,
        None,
        "POST",
        "register",
        Some(&client_registration(
            &key,
            "192.0.2.40",
            &org,
            now_ms() + 5,
            1,
        )),
    );
    assert_eq!(refused.status, 400, "revoked keys no longer register");
    let audit = app.d1_query(&format!(
        "SELECT action FROM key_audit WHERE org_id = '{org}' ORDER BY action"
    ));
    assert_eq!(audit.len(), 4, "two creations, two revocations: {audit:?}");
}
