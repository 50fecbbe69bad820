//! `POST /secrets` — the node installer fetches its organization's service
//! environments, signed like its `/register` (contract: core::node_env, docs/nodes.md
//! "Service environments").
//!
//! Verified as `/register` verifies the installer's form: freshness, the KV nonce
//! (shared with /register and /unregister, so with KV nonces one signature serves one request of any
//! of them), the named organization's active keys, one RSA public operation per key,
//! one refusal whatever is wrong until a key verifies, then bans. D1 refuses replays
//! too: the verified signature is claimed by a conditional insert in the same batch
//! that reads the environments. Each file is answered only as `env_<service>_enc`,
//! encrypted to the key that verified the signature: only that private key's holder
//! can read the answer.
//!
//! D1: one read on the primary (the keys), one write batch (claim and read).

use super::{bad_request, fresh_and_unused, remember, signing_key, ORG_UNUSABLE, REPLAY};
use crate::store::node_env::{self, Claim, SealedEnv};
use crate::store::nodes::RegistrationContext;
use crate::store::Db;
use crate::{config, http, webcrypto};
use gatehouse_core::crypto::rsa_keys::PublicKey;
use gatehouse_core::http::problem::Problem;
use gatehouse_core::node_env::at_rest::{self, NodeEnvKey};
use gatehouse_core::node_env::envelope::{self, Fresh};
use gatehouse_core::node_env::{missing_message, secrets_request, Service};
use gatehouse_core::nodes::signed::{nonce_ttl_seconds, Invalid, INVALID_SIGNATURE};
use serde_json::{json, Map, Value};
use worker::{Env, Request, Response};

pub async fn handle(mut req: Request, env: &Env, db: &Db) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let env_key = node_env_key(&config)?;
    let body = http::read_body(&mut req).await?;
    let request = match secrets_request::parse(&body) {
        Ok(r) => r,
        Err(Invalid(message)) => return Ok(bad_request(&message)),
    };
    let nonce =
        match fresh_and_unused(env, db, &config, request.timestamp.ms, &request.signature).await? {
            Ok(nonce) => nonce,
            Err(refusal) => return Ok(refusal),
        };
    let context = RegistrationContext {
        keys: node_env::signing_keys(db, &request.id_org).await?,
        existing: Vec::new(),
    };
    let messages = [request.message.clone()];
    let key = match signing_key(
        &context,
        Some(&request.id_org),
        &messages,
        &request.signature,
    ) {
        Ok(signer) => signer.key,
        Err(refusal) => return Ok(refusal),
    };
    let now_ms = crate::clock::now_ms();
    let ttl_ms = nonce_ttl_seconds(config.timestamp_skew_seconds) as i64 * 1000;
    let sealed =
        match node_env::claim_and_read(db, &nonce, &key.org_id, &key.id, now_ms, now_ms + ttl_ms)
            .await?
        {
            Claim::Claimed(sealed) => sealed,
            Claim::Replay => return Ok(bad_request(REPLAY)),
            Claim::KeyRevoked => return Ok(bad_request(INVALID_SIGNATURE)),
            Claim::OrgUnusable => return Ok(bad_request(ORG_UNUSABLE)),
        };
    // Claimed in D1: KV learns it too, so other locations refuse it before any D1 work.
    remember(env, db, &config, &nonce).await;

    let missing: Vec<Service> = Service::ALL
        .into_iter()
        .filter(|s| !sealed.iter().any(|row| row.service == s.as_str()))
        .collect();
    if !missing.is_empty() {
        return Ok(super::answer(404, false, &missing_message(&missing)));
    }
    let recipient = PublicKey::from_pem(&key.public_key_pem)
        .map(|k| k.to_spki_der())
        .map_err(|e| {
            worker::console_error!("secrets: stored key {} is unusable: {e}", key.id);
            Problem::Internal
        })?;
    let mut answer = Map::new();
    answer.insert("success".into(), json!(true));
    answer.insert(
        "message".into(),
        json!("Service environments, encrypted to the key that signed the request"),
    );
    answer.insert("keyId".into(), json!(key.id));
    for service in Service::ALL {
        let file = open(env_key, &config, &key.org_id, service, &sealed).await?;
        let enc = seal_for(&recipient, &file).await?;
        answer.insert(format!("env_{}_enc", service.as_str()), Value::String(enc));
    }
    Ok(http::json(200, &Value::Object(answer)))
}

/// The configured `NODE_ENV_KEY`; without it service environments can be neither
/// stored nor served (the log names the setting, never a value).
pub fn node_env_key(config: &gatehouse_core::config::Config) -> Result<&NodeEnvKey, Problem> {
    config.node_env_key.as_ref().ok_or_else(|| {
        worker::console_error!(
            "configuration NODE_ENV_KEY: missing: service environments need it \
             (`make dev` writes one into .dev.vars; `wrangler secret put NODE_ENV_KEY --env production`)"
        );
        Problem::Misconfigured
    })
}

/// The installer's envelope of `file` for the holder of the key `spki_der`
/// (core::node_env::envelope).
async fn seal_for(spki_der: &[u8], file: &[u8]) -> Result<String, Problem> {
    let fresh = Fresh::new().map_err(|_| Problem::Internal)?;
    let wrapped = webcrypto::rsa_oaep_sha256(spki_der, &fresh.key).await?;
    let ct = webcrypto::aes_256_ctr(&fresh.key, &fresh.iv, file).await?;
    Ok(envelope::to_json(&fresh, &wrapped, &ct))
}

/// One service's file, opened under `NODE_ENV_KEY` or, while it is rotated,
/// `NODE_ENV_KEY_PREVIOUS`. A row that opens under neither was sealed under a key no
/// longer configured (rotated without re-sealing) or altered: the operator's to fix,
/// never the caller's.
async fn open(
    key: &NodeEnvKey,
    config: &gatehouse_core::config::Config,
    org_id: &str,
    service: Service,
    sealed: &[SealedEnv],
) -> Result<Vec<u8>, Problem> {
    let previous = config.node_env_key_previous.as_ref();
    let (opened, by) = sealed
        .iter()
        .find(|row| row.service == service.as_str())
        .and_then(|row| at_rest::open_rotating(key, previous, org_id, service, &row.sealed).ok())
        .ok_or_else(|| {
            worker::console_error!(
                "secrets: the {} environment of organization {org_id} opens under neither \
                 NODE_ENV_KEY nor NODE_ENV_KEY_PREVIOUS (re-seal it or set it again: \
                 docs/nodes.md, \"Service environments\")",
                service.as_str()
            );
            Problem::Misconfigured
        })?;
    webcrypto::aes_256_ctr(&by.cipher_key(), &opened.iv, &opened.ct).await
}
