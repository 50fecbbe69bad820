//! `POST /register` — a bridge node registers with an RSA signature made by its
//! organization's private key (contract: core::node_registration, README).
//!
//! Replays are refused twice over: a KV nonce per signature (checked first; a KV
//! failure there fails closed), and in D1 a conditional upsert that only applies a
//! strictly newer signed timestamp. Storage: one D1 read
//! batch and one D1 write batch per request.

use crate::store::nodes::{self, CandidateKey, NodeWrite};
use crate::store::nonces;
use crate::{config, http};
use gatehouse_core::node_registration::{
    self, check_freshness, nonce_key, nonce_ttl_seconds, verifying_org, Invalid,
};
use gatehouse_core::problem::Problem;
use gatehouse_core::rsa_keys::PublicKey;
use serde_json::json;
use std::cell::RefCell;
use std::collections::HashMap;
use worker::{Env, Request, Response};

pub async fn handle(mut req: Request, env: &Env) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let body = http::read_body(&mut req).await?;
    let registration = match node_registration::parse(&body) {
        Ok(r) => r,
        Err(Invalid(message)) => return Ok(bad_request(&message)),
    };
    let now_ms = worker::Date::now().as_millis() as i64;
    if let Err(Invalid(message)) =
        check_freshness(&registration, now_ms, config.timestamp_skew_seconds)
    {
        return Ok(bad_request(&message));
    }
    let nonce = nonce_key(&registration.signature);
    if nonces::seen(env, &nonce).await? {
        return Ok(bad_request(REPLAY));
    }

    let fields = &registration.fields;
    let context =
        nodes::registration_context(env, &registration.node_ip, fields.id_org.as_deref()).await?;
    let registered_org = context.existing.as_ref().map(|n| n.org_id.as_str());
    if let Err(Invalid(message)) = verifying_org(fields.id_org.as_deref(), registered_org) {
        return Ok(bad_request(&message));
    }
    if !context.org_usable {
        return Ok(bad_request("Unknown or banned organization"));
    }
    let message = fields.canonical_message();
    // Every candidate belongs to the one verifying organization, and a public key is
    // active in at most one organization (D1 unique index), so whichever verifies, the
    // node lands where it belongs.
    let Some(key) = context
        .keys
        .iter()
        .find(|k| verifies(k, message.as_bytes(), &registration.signature))
    else {
        // Same answer whether no key, or no matching key, exists.
        return Ok(bad_request("Invalid signature"));
    };
    if let Some(existing) = &context.existing {
        if registration.timestamp_ms <= existing.last_signed_at_ms {
            return Ok(bad_request(REPLAY));
        }
    }

    let applied = nodes::upsert_node(
        env,
        &NodeWrite {
            ip: &registration.node_ip,
            provider: &fields.provider,
            status: &fields.status,
            region: &fields.region,
            version: &fields.version,
            org_id: &key.org_id,
            key_id: &key.id,
            signed_at_ms: registration.timestamp_ms,
            now_ms,
        },
    )
    .await?;
    if !applied {
        // A concurrent request with the same or a newer timestamp won the race (or,
        // for a new node, another organization's first registration of this address).
        return Ok(bad_request(REPLAY));
    }
    // The nonce is remembered only once the registration is stored: a failed write
    // must not burn the signature, or the node's retry would be refused. D1's
    // strictly-newer rule already refuses replays; KV refuses them earlier and
    // cheaper, before any D1 read or RSA work. If KV fails here the registration
    // stands (it is stored and replay-proof) and the failure is logged.
    if let Err(e) = nonces::remember(
        env,
        &nonce,
        nonce_ttl_seconds(config.timestamp_skew_seconds),
    )
    .await
    {
        worker::console_error!("register: stored, but the nonce was not remembered: {e:?}");
    }
    Ok(http::json(
        200,
        &json!({"success": true, "message": "Registration successful"}),
    ))
}

const REPLAY: &str =
    "Replay detected: this signed request was already used or is older than the last one";

fn bad_request(message: &str) -> Response {
    http::json(400, &json!({"success": false, "message": message}))
}

thread_local! {
    // Parsed keys by id, per isolate. A key id's PEM never changes (revocation is a
    // separate column the query filters on), so caching by id is safe.
    static PARSED_KEYS: RefCell<HashMap<String, Option<PublicKey>>> = RefCell::new(HashMap::new());
}
const PARSED_KEYS_MAX: usize = 1024;

fn verifies(key: &CandidateKey, message: &[u8], signature: &[u8]) -> bool {
    PARSED_KEYS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() >= PARSED_KEYS_MAX && !cache.contains_key(&key.id) {
            cache.clear();
        }
        let parsed = cache.entry(key.id.clone()).or_insert_with(|| {
            match PublicKey::from_pem(&key.public_key_pem) {
                Ok(k) => Some(k),
                Err(e) => {
                    worker::console_error!("register: stored key {} is unusable: {e}", key.id);
                    None
                }
            }
        });
        parsed
            .as_ref()
            .is_some_and(|k| k.verify(message, signature))
    })
}
