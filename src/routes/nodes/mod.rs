//! The routes bridge nodes call, signed with their organization's key, and the public
//! node directory. What the signed routes share lives here: freshness and the KV
//! replay check, choosing and trying the candidate keys, remembering the nonce.

pub mod directory;
pub mod register;
pub mod secrets;
pub mod unregister;

use crate::http;
use crate::store::nodes::{CandidateKey, RegistrationContext, Tombstones};
use crate::store::{nonces, Db};
use gatehouse_core::config::Config;
use gatehouse_core::crypto::rsa_keys::PublicKey;
use gatehouse_core::http::problem::Problem;
use gatehouse_core::nodes::signed::{
    check_freshness, nonce_key, nonce_ttl_seconds, Candidates, Invalid,
};
use gatehouse_core::nodes::warm::{KnownNode, NodeKeyCache};
use serde_json::json;
use std::cell::RefCell;
use std::collections::HashMap;
use worker::{Context, Env, Response};

pub const REPLAY: &str =
    "Replay detected: this signed request was already used or is older than the last one";
pub const ORG_UNUSABLE: &str = "Unknown or banned organization";

/// The bridge family's answer: `{"success", "message"}` (what the client's
/// RegisterResponse reads).
pub fn answer(status: u16, success: bool, message: &str) -> Response {
    http::json(status, &json!({"success": success, "message": message}))
}

pub fn bad_request(message: &str) -> Response {
    answer(400, false, message)
}

/// Freshness, then the KV nonce (before any D1 or RSA work; KV down → 503, fails
/// closed). `Ok(Ok(nonce))` to go on.
pub async fn fresh_and_unused(
    env: &Env,
    db: &Db,
    config: &Config,
    timestamp_ms: i64,
    signature: &[u8],
) -> Result<Result<String, Response>, Problem> {
    if let Err(refusal) = fresh(config, timestamp_ms) {
        return Ok(Err(refusal));
    }
    let nonce = nonce_key(signature);
    Ok(unused(env, db, &nonce).await?.map(|()| nonce))
}

/// Whether a signed timestamp is within the allowed skew of the worker's clock.
pub fn fresh(config: &Config, timestamp_ms: i64) -> Result<(), Response> {
    let now_ms = crate::clock::now_ms();
    check_freshness(timestamp_ms, now_ms, config.timestamp_skew_seconds)
        .map_err(|Invalid(message)| bad_request(&message))
}

/// A signature's KV nonce (`nonce_key`): refused if seen (KV down → 503, fails
/// closed). `Ok(Ok(()))` to go on.
pub async fn unused(env: &Env, db: &Db, nonce: &str) -> Result<Result<(), Response>, Problem> {
    if nonces::seen(env, db, nonce).await? {
        return Ok(Err(bad_request(REPLAY)));
    }
    Ok(Ok(()))
}

/// The key that signed a request, and which of its messages it signed.
pub struct Signer<'c> {
    pub key: &'c CandidateKey,
    /// The index in the request's `messages()`.
    pub message: usize,
}

/// The key that signed one of `messages`, among the candidate keys of `context`. A
/// public key is active in at most one organization (D1 unique index), so whichever
/// verifies decides the organization. One RSA operation per candidate, however many
/// message forms. Until a key verifies, every refusal is the same
/// ([`Candidates::refusal`]): nothing is learnt about organizations, keys or
/// addresses without a key. After, a banned organization is told so.
pub fn signing_key<'c>(
    context: &'c RegistrationContext,
    id_org: Option<&str>,
    messages: &[String],
    signature: &[u8],
) -> Result<Signer<'c>, Response> {
    let candidates = Candidates::of(id_org);
    let messages: Vec<&[u8]> = messages.iter().map(|m| m.as_bytes()).collect();
    let signer = context
        .keys
        .iter()
        .filter(|k| candidates.admits(&k.org_id))
        .find_map(|k| {
            signed_message(&k.id, &k.public_key_pem, &messages, signature)
                .map(|message| Signer { key: k, message })
        })
        .ok_or_else(|| bad_request(candidates.refusal()))?;
    if signer.key.org_banned != 0 {
        return Err(bad_request(ORG_UNUSABLE));
    }
    Ok(signer)
}

/// Where the tombstones of removed nodes stand now, and how long they matter: as long
/// as a request signed before the removal could be fresh (the nonce TTL).
pub fn tombstones(config: &Config) -> Tombstones {
    Tombstones {
        now_ms: crate::clock::now_ms(),
        retention_ms: nonce_ttl_seconds(config.timestamp_skew_seconds) as i64 * 1000,
    }
}

/// Remembers a signature once its request is stored: a failed write must not burn
/// it, or the node's retry would be refused. D1's strictly-newer rule already refuses
/// replays; KV refuses them earlier and cheaper. If KV fails here the request stands
/// (stored and replay-proof) and the failure is logged.
pub async fn remember(env: &Env, db: &Db, config: &Config, nonce: &str) {
    if let Err(e) = nonces::remember(
        env,
        db,
        nonce,
        nonce_ttl_seconds(config.timestamp_skew_seconds),
    )
    .await
    {
        worker::console_error!(
            "signed node request: stored, but the nonce was not remembered: {e:?}"
        );
    }
}

/// [`remember`], after the answer (`wait_until`): the node does not wait for KV's
/// write (docs/nodes.md, "Replay nonces").
pub fn remember_after_answer(ctx: &Context, env: &Env, db: &Db, config: &Config, nonce: &str) {
    let ttl = nonce_ttl_seconds(config.timestamp_skew_seconds);
    nonces::remember_after_answer(ctx, env, db, nonce, ttl);
}

thread_local! {
    // Parsed keys by id, per isolate. A key id's PEM never changes (revocation is a
    // separate column the query filters on), so caching by id is safe.
    static PARSED_KEYS: RefCell<HashMap<String, Option<PublicKey>>> = RefCell::new(HashMap::new());
}
const PARSED_KEYS_MAX: usize = 1024;

thread_local! {
    // Nodes this isolate has verified, for /register's warm path (core::nodes::warm).
    static KNOWN_NODES: RefCell<NodeKeyCache> = RefCell::new(NodeKeyCache::new(KNOWN_NODES_MAX));
}
const KNOWN_NODES_MAX: usize = 8192;

/// What this isolate knows of the nodes at `node_ip`, checked against a request.
pub enum KnownNodeCheck {
    /// A remembered key signed one of the messages.
    Signed(KnownSigner),
    /// The remembered keys (these ids) signed none of them: the cold path need not try
    /// them again.
    NotSigned(Vec<String>),
    /// Nothing remembered, or another organization named.
    Unknown,
}

/// Checks the request against the keys this isolate remembers for the nodes at the
/// address that the request may be from (its named organization's, or, naming none,
/// each: at most `NODES_PER_ADDRESS` RSA operations); nothing is copied but the answer.
pub fn known_signer(
    node_ip: &str,
    id_org: Option<&str>,
    messages: &[&[u8]],
    signature: &[u8],
) -> KnownNodeCheck {
    KNOWN_NODES.with(|cache| {
        let mut cache = cache.borrow_mut();
        let candidates = Candidates::of(id_org);
        let mut tried = Vec::new();
        let mut signer = None;
        for known in cache.get(node_ip) {
            if !candidates.admits(&known.org_id) {
                continue;
            }
            match signed_message(&known.key_id, &known.public_key_pem, messages, signature) {
                Some(message) => {
                    signer = Some(KnownSigner {
                        org_id: known.org_id.clone(),
                        key_id: known.key_id.clone(),
                        message,
                    });
                    break;
                }
                None => tried.push(known.key_id.clone()),
            }
        }
        if let Some(signer) = signer {
            // In use: the last of the address's nodes to be pushed out.
            cache.touch(node_ip, &signer.org_id);
            KnownNodeCheck::Signed(signer)
        } else if tried.is_empty() {
            KnownNodeCheck::Unknown
        } else {
            KnownNodeCheck::NotSigned(tried)
        }
    })
}

/// Who signed a request of a node this isolate knows, and which of its messages.
pub struct KnownSigner {
    pub org_id: String,
    pub key_id: String,
    /// The index in the request's `messages()`.
    pub message: usize,
}

/// Remembers a node verified on the cold path with the key that verified it.
pub fn remember_node(node_ip: &str, signer: &CandidateKey) {
    let node = KnownNode {
        org_id: signer.org_id.clone(),
        key_id: signer.id.clone(),
        public_key_pem: signer.public_key_pem.clone(),
    };
    KNOWN_NODES.with(|c| c.borrow_mut().remember(node_ip, node));
}

/// Forgets `org_id`'s node at `node_ip`; other organizations' nodes there stay known.
pub fn forget_node(node_ip: &str, org_id: &str) {
    KNOWN_NODES.with(|c| c.borrow_mut().forget(node_ip, org_id));
}

/// Which of `messages` the key `id` (PEM `pem`) signed, if any.
fn signed_message(id: &str, pem: &str, messages: &[&[u8]], signature: &[u8]) -> Option<usize> {
    PARSED_KEYS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() >= PARSED_KEYS_MAX && !cache.contains_key(id) {
            cache.clear();
        }
        let parsed = cache
            .entry(id.to_owned())
            .or_insert_with(|| match PublicKey::from_pem(pem) {
                Ok(k) => Some(k),
                Err(e) => {
                    worker::console_error!("signed node request: stored key {id} is unusable: {e}");
                    None
                }
            });
        parsed
            .as_ref()
            .and_then(|k| k.verify_any(messages, signature))
    })
}

/// A node as the client's NodeInfo declares it (plus `provider`, `keyId` and
/// `createdAt`): `id` is what `DELETE /organization/{id}/node/{nodeId}` takes, the
/// node's canonical address.
pub fn node_info(n: &crate::store::nodes::NodeRow) -> serde_json::Value {
    use gatehouse_core::time::format_rfc3339_ms;
    json!({
        "id": n.ip, "ip": n.ip, "region": n.region, "version": n.version, "status": n.status,
        "lastUpdated": format_rfc3339_ms(n.updated_at_ms as i64),
        "url": gatehouse_core::nodes::node_url(&n.ip),
        "id_org": n.org_id, "nodeServices": n.node_services as u32,
        "provider": n.provider, "keyId": n.key_id,
        "createdAt": format_rfc3339_ms(n.created_at_ms as i64),
    })
}
