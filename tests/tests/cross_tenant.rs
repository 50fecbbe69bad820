//! One customer must not be able to hurt another through the public API: each test
//! here replays an attack from the security review (SECURITY.md) against the built
//! worker and shows it fail.
//!
//! All on one shared worker: each test has its own people (and so organizations),
//! organization ids and node addresses, and reads only those.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_core::org_keys::possession_message;
use gatehouse_e2e::accounts::{assert_error, verified_user};
use gatehouse_e2e::nodes::{node_row_sql, now_ms, register, seed_org};
use gatehouse_e2e::{shared_app, spawn_app_with, TestApp, TestResponse};
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
use serde_json::json;

fn upload(app: &TestApp, token: &str, org: &str, pem: &str) -> TestResponse {
    app.post_json_as(
        token,
        &format!("/organization/{org}/key"),
        &json!({ "publicKey": pem }),
    )
}

/// The organization of the node at `ip` whose key last verified (the newest write).
fn node_org(app: &TestApp, ip: &str) -> String {
    let rows = app.d1_query(&format!(
        "SELECT org_id FROM nodes WHERE ip = '{ip}' ORDER BY updated_at_ms DESC LIMIT 1"
    ));
    rows[0]["org_id"].as_str().unwrap().to_owned()
}

fn node_org_count(app: &TestApp, ip: &str) -> i64 {
    app.d1_query(&format!(
        "SELECT count(*) AS n FROM nodes WHERE ip = '{ip}'"
    ))[0]["n"]
        .as_i64()
        .unwrap()
}

fn verifications(res: &TestResponse) -> u32 {
    res.header("x-gatehouse-rsa-verifications")
        .expect("test hooks report RSA verifications")
        .parse()
        .unwrap()
}

#[test]
fn a_copied_public_key_cannot_take_over_another_organizations_node() {
    let app = shared_app();
    let (token_a, org_a, _) = verified_user(app, "ada@copied.acme.io");
    let (token_b, org_b, _) = verified_user(app, "mallory@copied.evil.example");
    let key = PrivateKey::generate(2048).unwrap();
    let pem = key.public_key().to_spki_pem();
    assert_eq!(upload(app, &token_a, &org_a, &pem).status, 201);
    let t = now_ms();
    assert_eq!(
        register(app, &key, "203.0.113.9", t, Some(&org_a)).status,
        200
    );

    // B lists nothing of A's, but public keys are public: B uploads A's key, in any
    // encoding. Refused, without saying whose it is.
    let copy = upload(app, &token_b, &org_b, &pem);
    assert_error(&copy, 409, "KEY_EXISTS");
    assert!(!copy.body.contains(&org_a));
    assert_error(
        &upload(app, &token_b, &org_b, &key.public_key().to_pkcs1_pem()),
        409,
        "KEY_EXISTS",
    );
    // A's node keeps registering the documented default way (no id_org) into A.
    assert_eq!(register(app, &key, "203.0.113.9", t + 1, None).status, 200);
    assert_eq!(node_org(app, "203.0.113.9"), org_a);

    // Rotation: A adds a new key and revokes the old one; B can copy neither.
    let rotated = PrivateKey::generate(2048).unwrap();
    let rotated_pem = rotated.public_key().to_spki_pem();
    assert_eq!(upload(app, &token_a, &org_a, &rotated_pem).status, 201);
    assert_error(
        &upload(app, &token_b, &org_b, &rotated_pem),
        409,
        "KEY_EXISTS",
    );
    let old_id = app.d1_query(&format!(
        "SELECT id FROM org_keys WHERE org_id = '{org_a}' AND public_key_pem = '{pem}'"
    ))[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoke = app.request_as(
        &token_a,
        "DELETE",
        &format!("/organization/{org_a}/key/{old_id}"),
        None,
    );
    assert_eq!(revoke.status, 200, "{}", revoke.body);
    // A revoked key blocks nobody: B may add a copy (unproven: B has no private half)…
    assert_eq!(upload(app, &token_b, &org_b, &pem).status, 201);
    // …which never moves A's node: it stays A's, verified by A's keys alone.
    assert_eq!(
        register(app, &key, "203.0.113.9", t + 2, Some(&org_b)).status,
        200,
        "B's copy registers B's own node at that address, not A's"
    );
    assert_eq!(node_org_count(app, "203.0.113.9"), 2);
    // A takes its key back with a proof of possession: B's copy is revoked.
    assert_error(&upload(app, &token_a, &org_a, &pem), 409, "KEY_EXISTS");
    let proof = STANDARD.encode(key.sign(possession_message(&org_a).as_bytes()));
    let back = app.post_json_as(
        &token_a,
        &format!("/organization/{org_a}/key"),
        &json!({ "publicKey": pem, "proof": proof }),
    );
    assert_eq!(back.status, 201, "{}", back.body);
    // And a node registered with a key stays where it is, whatever B does. The rotated
    // key was uploaded without proof, so it names A once (without id_org it could be a
    // copy deciding the organization: security_org_keys.rs), then goes on without.
    let unnamed = register(app, &rotated, "203.0.113.9", t + 3, None);
    assert_eq!(unnamed.status, 400, "{}", unnamed.body);
    assert!(
        unnamed.body.contains("without proof of possession"),
        "{}",
        unnamed.body
    );
    for (ts, id_org) in [(t + 4, Some(org_a.as_str())), (t + 5, None)] {
        let res = register(app, &rotated, "203.0.113.9", ts, id_org);
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(node_org(app, "203.0.113.9"), org_a);
    }

    // Storage refuses a second active copy even when written behind the API's back.
    let planted = app.d1_execute(&format!(
        "INSERT INTO org_keys (id, org_id, public_key_pem, bits, created_at_ms) \
         VALUES ('planted', '{org_b}', '{rotated_pem}', 2048, 0)"
    ));
    let error = planted.expect_err("a second active copy of a key");
    assert!(error.contains("UNIQUE constraint failed"), "{error}");
}

/// `count` distinct real 2048-bit RSA public keys (e = 65537), made cheaply: each
/// modulus is the product of two primes taken from a few generated keys (14 keys give
/// 28 primes, 378 pairs). Generating 200 keys was most of this binary's time.
fn distinct_public_keys(count: usize) -> Vec<String> {
    let mut primes: Vec<rsa::BigUint> = Vec::new();
    while primes.len() * primes.len().saturating_sub(1) / 2 < count {
        use rsa::traits::PrivateKeyParts;
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        primes.extend(key.primes().iter().cloned());
    }
    let pairs = (0..primes.len()).flat_map(|i| (i + 1..primes.len()).map(move |j| (i, j)));
    pairs
        .take(count)
        .map(|(i, j)| {
            // Each prime has its top two bits set, so every product has exactly 2048 bits.
            let n = &primes[i] * &primes[j];
            assert_eq!(n.bits(), 2048);
            rsa::RsaPublicKey::new(n, rsa::BigUint::from(65_537u32))
                .unwrap()
                .to_public_key_pem(LineEnding::LF)
                .unwrap()
        })
        .collect()
}

#[test]
fn no_organization_can_crowd_out_another_by_uploading_keys() {
    let app = shared_app();
    let honest = seed_org(app, "honest", 2048);
    let t = now_ms();
    // Four older keys of its own besides (an isolate once remembered them all and tried
    // each on a request for the node's address).
    let mut sql = String::from("UPDATE org_keys SET created_at_ms = 2 WHERE id = 'honest-key';");
    for (k, key) in distinct_public_keys(4).iter().enumerate() {
        sql.push_str(&format!(
            "INSERT INTO org_keys (id, org_id, public_key_pem, bits, created_at_ms) \
             VALUES ('honest-old-{k}', 'honest', '{key}', 2048, 1);"
        ));
    }
    app.d1_query(&sql);
    assert_eq!(
        register(app, &honest, "198.51.100.20", t, Some("honest")).status,
        200
    );

    // 200 newer active keys in 40 other organizations (the old design tried the newest
    // 50 keys of everyone for a registration without id_org).
    let mut hostile_keys = distinct_public_keys(200).into_iter();
    let mut sql = String::new();
    for org in 0..40 {
        sql.push_str(&format!(
            "INSERT INTO organizations (id, name, created_at_ms) VALUES ('hostile-{org}', 'h', 1);"
        ));
        for k in 0..5 {
            let key = hostile_keys.next().expect("200 keys");
            sql.push_str(&format!(
                "INSERT INTO org_keys (id, org_id, public_key_pem, bits, created_at_ms) \
                 VALUES ('h-{org}-{k}', 'hostile-{org}', '{key}', 2048, {});",
                t + 1000
            ));
        }
    }
    app.d1_query(&sql);

    // The registered node, without id_org: only its own organization's keys are tried.
    let again = register(app, &honest, "198.51.100.20", t + 1, None);
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(verifications(&again), 1);
    // A new node names its organization and is verified against that one alone.
    let new = register(app, &honest, "198.51.100.21", t, Some("honest"));
    assert_eq!(new.status, 200, "{}", new.body);
    assert_eq!(verifications(&new), 1);
    // Without a name, a first registration gets a clear instruction and costs no RSA.
    let unnamed = register(app, &honest, "198.51.100.22", t, None);
    assert_eq!(unnamed.status, 400);
    assert!(
        unnamed.json()["message"]
            .as_str()
            .unwrap()
            .ends_with("must also name its organization: id_org)"),
        "{}",
        unnamed.body
    );
    assert_eq!(verifications(&unnamed), 0);
    // A hostile organization's forged registration costs at most its own key count.
    let forged = register(app, &honest, "198.51.100.23", t, Some("hostile-7"));
    assert_eq!(forged.status, 400);
    assert_eq!(verifications(&forged), 5);

    // Two hostile organizations put nodes at the honest node's address. A forged
    // registration for it without id_org: the keys this isolate remembers for the
    // address (here the honest node's only: the hostile rows were written straight into
    // D1), then the cold path's ten candidates without those keys — never more than
    // fourteen RSA operations (SECURITY.md, CPU amplification). Their nodes are newer than
    // the honest one, so its key stays first among the address's candidates.
    let mut sql = String::new();
    let later = now_ms();
    for org in 0..2 {
        sql.push_str(&node_row_sql(
            &format!("hostile-{org}"),
            "198.51.100.20",
            &format!("h-{org}-0"),
            later,
        ));
    }
    app.d1_query(&sql);
    let stranger = PrivateKey::generate(2048).unwrap();
    let forged = register(app, &stranger, "198.51.100.20", t + 2, None);
    assert_eq!(forged.status, 400, "{}", forged.body);
    // Here exactly ten: the remembered key (the honest node's, also the first of the
    // cold path's candidates, being the earliest node's) is not tried twice.
    assert_eq!(verifications(&forged), 10);
    // The honest node is still known and verified with one operation.
    let honest_again = register(app, &honest, "198.51.100.20", t + 3, None);
    assert_eq!(honest_again.status, 200, "{}", honest_again.body);
    assert_eq!(verifications(&honest_again), 1);
}

/// Organizations that put nodes at an address later cannot push the first one's key out
/// of the bounded search a re-registration without `id_org` makes (cold path: the
/// D1_BASELINE worker never takes the warm one).
#[test]
fn later_organizations_at_an_address_never_crowd_out_its_first_node() {
    let app = spawn_app_with(&[("D1_BASELINE", "on")]);
    let honest = seed_org(&app, "first", 2048);
    let t = now_ms();
    let ip = "198.51.100.30";
    assert_eq!(register(&app, &honest, ip, t, Some("first")).status, 200);
    // Eleven organizations, each with a newer key and a newer node at the address.
    let later = now_ms() + 60_000;
    let mut sql = String::new();
    for (org, key) in distinct_public_keys(11).iter().enumerate() {
        sql.push_str(&format!(
            "INSERT INTO organizations (id, name, created_at_ms) VALUES ('later-{org}', 'l', 1); \
             INSERT INTO org_keys (id, org_id, public_key_pem, bits, created_at_ms) \
             VALUES ('l-{org}', 'later-{org}', '{key}', 2048, {t});"
        ));
        sql.push_str(&node_row_sql(
            &format!("later-{org}"),
            ip,
            &format!("l-{org}"),
            later,
        ));
    }
    app.d1_query(&sql);
    let again = register(&app, &honest, ip, t + 1, None);
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(verifications(&again), 1);
}

#[test]
fn keys_must_use_exponent_65537_and_odd_stored_keys_cost_nothing() {
    let app = shared_app();
    let (token, org, _) = verified_user(app, "ada@exponent.acme.io");
    let pem = PrivateKey::generate(4096)
        .unwrap()
        .public_key()
        .to_spki_pem();
    let n = rsa::RsaPublicKey::from_public_key_pem(&pem).unwrap();
    let big_e = rsa::RsaPublicKey::new_unchecked(
        rsa::traits::PublicKeyParts::n(&n).clone(),
        rsa::BigUint::from((1u64 << 33) - 1),
    )
    .to_public_key_pem(LineEnding::LF)
    .unwrap();
    let refused = upload(app, &token, &org, &big_e);
    assert_error(&refused, 400, "INVALID_INPUT");
    assert!(refused.json()["message"]
        .as_str()
        .unwrap()
        .contains("65537"));

    // Such a key already in storage (written before this rule) is never used.
    app.seed_org_key("legacy", "odd-key", &big_e, 4096);
    let good = PrivateKey::generate(2048).unwrap();
    app.seed_org_key("legacy", "good-key", &good.public_key().to_spki_pem(), 2048);
    let res = register(app, &good, "192.0.2.60", now_ms(), Some("legacy"));
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        verifications(&res),
        1,
        "the odd key is skipped, not verified"
    );
}

#[test]
fn a_banned_organization_can_no_longer_write() {
    let app = shared_app();
    let (token, org, _) = verified_user(app, "ada@banned.acme.io");
    let key = PrivateKey::generate(2048).unwrap();
    let created = upload(app, &token, &org, &key.public_key().to_spki_pem());
    assert_eq!(created.status, 201);
    let key_id = created.json()["data"]["id"].as_str().unwrap().to_owned();
    app.d1_query(&format!(
        "UPDATE organizations SET banned = 1 WHERE id = '{org}'"
    ));

    let other = PrivateKey::generate(2048)
        .unwrap()
        .public_key()
        .to_spki_pem();
    assert_error(&upload(app, &token, &org, &other), 403, "ORG_BANNED");
    let generate = app.request(
        "POST",
        &format!("/organization/{org}/key"),
        &[
            ("authorization", &format!("Bearer {token}")),
            ("accept", "application/x-pem-file"),
        ],
        None,
    );
    assert_error(&generate, 403, "ORG_BANNED");
    assert_error(
        &app.request_as(
            &token,
            "DELETE",
            &format!("/organization/{org}/key/{key_id}"),
            None,
        ),
        403,
        "ORG_BANNED",
    );
    assert_eq!(
        register(app, &key, "192.0.2.70", now_ms(), Some(&org)).status,
        400,
        "nor register nodes"
    );
    assert_eq!(
        app.d1_query(&format!(
            "SELECT count(*) AS n FROM org_keys WHERE org_id = '{org}' AND revoked_at_ms IS NULL"
        ))[0]["n"],
        1,
        "nothing changed"
    );
    // Reads stay possible, so members can see where they stand.
    assert_eq!(
        app.request_as(&token, "GET", &format!("/organization/{org}/key"), None)
            .status,
        200
    );
}
