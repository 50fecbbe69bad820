//! Rotating `NODE_ENV_KEY` as docs/deploying.md ("Rotating NODE_ENV_KEY") says: the worker
//! restarted with the new key and the old one as `NODE_ENV_KEY_PREVIOUS` keeps serving
//! every environment; `gatehouse-cli admin node-env-reseal` seals them again under the
//! new key (and names a row that opens under neither); then the worker runs with the
//! new key alone and still serves them. The installer's `/secrets` as it sends it.

mod common;

use common::{admin, node_env_key, ok, stderr};
use gatehouse_core::node_env::at_rest::{self, NodeEnvKey};
use gatehouse_core::node_env::Service;
use gatehouse_e2e::accounts::verified_user;
use gatehouse_e2e::node_env::{
    installer_decrypt, post_secrets, secrets_payload, set_all_envs, set_env,
};
use gatehouse_e2e::nodes::{now_ms, upload_new_key};
use gatehouse_e2e::TestApp;
use serde_json::json;

/// The installer's `/secrets` for `org`'s three files, signed `seconds_ago` in the past
/// (each signature is used once), each file as the installer decrypts it.
fn fetched(app: &TestApp, pem: &str, org: &str, seconds_ago: i64) -> Vec<String> {
    let seconds = now_ms() / 1000 - seconds_ago;
    let res = post_secrets(
        app,
        &secrets_payload(pem, "192.0.2.77", "eu-west-1", org, seconds),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    ["s3", "gcs", "blob"]
        .map(|service| {
            String::from_utf8(installer_decrypt(&res.body, pem, service).unwrap()).unwrap()
        })
        .to_vec()
}

#[test]
fn a_rotated_node_env_key_keeps_serving_and_reseal_finishes_the_rotation() {
    let mut app = gatehouse_e2e::spawn_app();
    let old = node_env_key();
    let new: String = (0..32u8)
        .map(|i| format!("{:02x}", i.wrapping_mul(29) ^ 0xa5))
        .collect();
    let (token, org, _) = verified_user(&app, "ada@env-rotation.example");
    let (key, _) = upload_new_key(&app, &token, &org);
    let set = set_all_envs(&app, &token, &org);
    let files: Vec<String> = set.iter().map(|(_, file)| file.clone()).collect();
    let pem = key.to_pkcs8_pem();
    assert_eq!(fetched(&app, &pem, &org, 0), files);
    // More organizations than one page of the walk (50 rows), sealed under the old key
    // as the worker seals (the contents do not matter to the reseal).
    let old_key = NodeEnvKey::parse(&old).unwrap();
    let many: Vec<String> = (0..20)
        .flat_map(|i| {
            let org = format!("org-many-{i:02}");
            Service::ALL.map(|service| {
                let sealed = at_rest::seal(&old_key, &org, service, &[i as u8; 16], b"A=1\n");
                format!("('{org}', '{}', '{sealed}', 4, 0)", service.as_str())
            })
        })
        .collect();
    let orgs: Vec<String> = (0..20)
        .map(|i| format!("('org-many-{i:02}', 'Many', NULL, 0)"))
        .collect();
    app.d1_query(&format!(
        "INSERT INTO organizations (id, name, domain, created_at_ms) VALUES {}; \
         INSERT INTO node_envs (org_id, service, sealed, size_bytes, updated_at_ms) VALUES {}",
        orgs.join(", "),
        many.join(", ")
    ));
    // Another organization's row that no key opens (altered, or under a lost key).
    app.d1_query(
        "INSERT INTO organizations (id, name, domain, created_at_ms) \
         VALUES ('org-lost-key', 'Lost', NULL, 0); \
         INSERT INTO node_envs (org_id, service, sealed, size_bytes, updated_at_ms) \
         VALUES ('org-lost-key', 's3', 'v1.AAAA', 4, 0)",
    );

    // The new key, the old one kept as previous: every row still opens, and /health
    // names both.
    app.restart_with(&[("NODE_ENV_KEY", &new), ("NODE_ENV_KEY_PREVIOUS", &old)]);
    assert_eq!(fetched(&app, &pem, &org, 1), files);
    let new_key = NodeEnvKey::parse(&new).unwrap();
    let ids = app.get("/health").json()["keyIds"].clone();
    assert_eq!(
        (&ids["nodeEnv"], &ids["nodeEnvPrevious"]),
        (&json!(new_key.id()), &json!(old_key.id()))
    );

    // One row the worker seals under the new key (the same file set again), so that a
    // reseal with the keys swapped would have something to seal back under the old.
    let (service, file) = &set[0];
    assert_eq!(set_env(&app, &token, &org, service, file).status, 200);
    assert_eq!(fetched(&app, &pem, &org, 30), files);

    // The keys swapped: the worker's /health shows it, and nothing is sealed.
    let url = app.url("");
    let sealed_before = app.d1_query("SELECT org_id, service, sealed FROM node_envs ORDER BY 1, 2");
    let swapped = admin(
        &app,
        &[
            "node-env-reseal",
            "--node-env-key",
            &old,
            "--previous-node-env-key",
            &new,
            "--url",
            &url,
        ],
    );
    assert_eq!(swapped.status.code(), Some(1));
    assert!(stderr(&swapped).contains("swapped"), "{}", stderr(&swapped));
    assert_eq!(
        app.d1_query("SELECT org_id, service, sealed FROM node_envs ORDER BY 1, 2"),
        sealed_before,
        "nothing written"
    );

    let keys = [
        "--node-env-key",
        &new,
        "--previous-node-env-key",
        &old,
        "--url",
        &url,
    ];
    let reseal = |app: &TestApp| admin(app, &[&["node-env-reseal"][..], &keys].concat());
    let first = reseal(&app);
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    assert!(
        String::from_utf8_lossy(&first.stdout)
            .contains("62 environment(s) sealed again under the new NODE_ENV_KEY, 1 already under it, 0 changed while read (run again), 1 under neither"),
        "{first:?}"
    );
    assert!(
        stderr(&first).contains("org-lost-key s3"),
        "{}",
        stderr(&first)
    );
    app.d1_query("DELETE FROM node_envs WHERE org_id = 'org-lost-key'");
    let again = ok(&reseal(&app));
    assert!(again.contains("0 environment(s) sealed again"), "{again}");
    assert!(again.contains("63 already under it"), "{again}");

    // The old key retired: the new one alone opens every row.
    app.restart_with(&[("NODE_ENV_KEY", &new)]);
    assert_eq!(fetched(&app, &pem, &org, 2), files);
    let same = admin(
        &app,
        &[
            "node-env-reseal",
            "--node-env-key",
            &new,
            "--previous-node-env-key",
            &new,
            "--no-worker-check",
        ],
    );
    assert!(stderr(&same).contains("the same key"), "{}", stderr(&same));
}
