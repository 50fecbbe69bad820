//! `POST /register` — a bridge node registers with an RSA signature made by its
//! organization's private key, in any of the three accepted forms (contract:
//! core::nodes::registration, docs/nodes.md).
//!
//! Replays are refused twice over: a KV nonce per signature (checked first; a KV
//! failure there fails closed; written after the answer; `REPLAY_NONCES=d1` leaves
//! it out), and in D1 a conditional write that only applies a strictly newer signed
//! timestamp than the last change.
//!
//! Writes only on change (core::nodes::warm): a heartbeat that would change nothing
//! writes no row, and its nonce is not remembered either — its replay is a no-op in
//! D1 (SECURITY.md, "Threat model", Replay).
//!
//! D1: a node this isolate has verified before takes the warm path, one conditional
//! write batch on the primary that decides everything (core::nodes::warm); otherwise
//! (or when that write finds the cache out of date) the cold path: one read batch,
//! then one write batch.

use super::{
    answer, bad_request, forget_node, fresh, known_signer, remember_after_answer, remember_node,
    signing_key, unused, KnownNodeCheck, ORG_UNUSABLE, REPLAY,
};
use crate::store::nodes::{self, NodeWrite};
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::config::{Config, ReplayNonces};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::nodes::registration::{self, NodeRegistration};
use gatehouse_core::nodes::signed::{nonce_key, Invalid, INVALID_SIGNATURE};
use gatehouse_core::nodes::warm::{self, ColdRefusal, WarmOutcome};
use worker::{Context, Env, Request, Response};

/// How a registration that was not refused ended.
#[derive(PartialEq, Eq)]
enum Stored {
    /// Written: its nonce is remembered (REPLAY_NONCES=kv).
    Written,
    /// Changed nothing, wrote nothing: a replay of it is a no-op, so its nonce would
    /// add nothing but a KV write.
    Unchanged,
}

pub async fn handle(
    mut req: Request,
    env: &Env,
    db: &Db,
    ctx: &Context,
) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let body = http::read_body(&mut req).await?;
    let registration = match registration::parse(&body) {
        Ok(r) => r,
        Err(Invalid(message)) => return Ok(bad_request(&message)),
    };
    if let Err(refusal) = fresh(&config, registration.timestamp.ms) {
        return Ok(refusal);
    }
    // The signature's nonce key, in either mode: the key of /secrets' claim on the same
    // signature, which the node write refuses (store::nodes); with REPLAY_NONCES=kv also
    // KV's replay nonce, checked here and remembered once the registration is written.
    let nonce = nonce_key(&registration.signature);
    let kv_nonce = (config.replay_nonces == ReplayNonces::Kv).then_some(nonce.as_str());
    if let Some(kv_nonce) = kv_nonce {
        if let Err(refusal) = unused(env, db, kv_nonce).await? {
            return Ok(refusal);
        }
    }
    let answered = |stored: Stored| {
        if let (Stored::Written, Some(kv_nonce)) = (stored, kv_nonce) {
            remember_after_answer(ctx, env, db, &config, kv_nonce);
        }
        registered()
    };

    let now_ms = crate::clock::now_ms();
    let mut tried_keys = Vec::new();
    if !config.d1_simulation.baseline {
        match warm(db, &config, &registration, &nonce, now_ms).await? {
            Warm::Answered(answer) => return Ok(answer.map_or_else(|refusal| refusal, answered)),
            Warm::Cold { tried_keys: tried } => tried_keys = tried,
        }
    }

    let id_org = registration.fields.id_org.as_deref();
    let mut context = nodes::registration_context(db, &registration.node_ip, id_org).await?;
    // A key the warm path found not to sign this request is not tried again: a request
    // makes at most NODES_PER_ADDRESS RSA operations more than the cold path's bound
    // (one when it names its organization).
    context.keys.retain(|k| !tried_keys.contains(&k.id));
    let messages = registration.messages();
    let signer = match signing_key(&context, id_org, &messages, &registration.signature) {
        Ok(signer) => signer,
        Err(refusal) => return Ok(refusal),
    };
    let key = signer.key;
    let existing = context.node_of(&key.org_id);
    if existing.is_some_and(|node| registration.timestamp.ms <= node.last_signed_at_ms) {
        return Ok(bad_request(REPLAY));
    }
    // The write checks it again (store::nodes, key_may_write).
    if key.proven == 0
        && !registration.signs_org(signer.message)
        && existing.is_none_or(|node| node.key_id != key.id)
    {
        return Ok(bad_request(UNPROVEN_KEY));
    }
    let write = node_write(
        &config,
        &registration,
        signer.message,
        (&key.org_id, &key.id),
        &nonce,
        now_ms,
    );
    let (applied, state) = nodes::upsert_node(db, &write).await?;
    if !applied && warm::cold_unchanged(&key.org_id, registration.timestamp.ms, &state) {
        remember_node(&registration.node_ip, key);
        return Ok(answered(Stored::Unchanged));
    }
    if !applied {
        // What changed between the read and the write decides the answer: a revoked
        // key or a ban since, a tombstone, or a concurrent newer request.
        return Ok(bad_request(
            match warm::cold_refusal(&state, registration.timestamp.ms, config.nodes_max) {
                ColdRefusal::OrgUnusable => ORG_UNUSABLE,
                ColdRefusal::KeyRevoked => INVALID_SIGNATURE,
                ColdRefusal::UnprovenKey => UNPROVEN_KEY,
                ColdRefusal::OrgFull => ORG_FULL,
                ColdRefusal::Replay => REPLAY,
            },
        ));
    }
    remember_node(&registration.node_ip, key);
    Ok(answered(Stored::Written))
}

/// A key uploaded without proof of possession may have been copied from its real
/// owner; a message that does not sign the organization (the installer's, or the v1
/// form without `id_org`) lets the key that verifies decide it, so such a key could
/// move the owner's registrations into the copier's organization: its first one, or its
/// heartbeats onto a node the copier has at the address. So with such a message it
/// verifies only a node it registered itself with one that signs the organization.
const UNPROVEN_KEY: &str = "This key was uploaded without proof of possession, so a message \
     that does not sign id_org (the installer's ip|region|timestamp, or the v1 form without \
     id_org) verifies only the heartbeats of a node this key registered in the v1 form naming \
     id_org: register once in the v1 form with id_org, or upload the key again with a proof";

/// A new node of an organization that holds `NODES_MAX` already: its re-registrations
/// of nodes it holds are not refused, so only a new address is.
const ORG_FULL: &str = "This organization holds as many nodes as this service allows \
     (NODES_MAX): remove nodes it no longer runs (DELETE /organization/{idOrg}/node/{nodeId}, \
     or POST /unregister) before registering a new one, or ask the operator to raise the limit";

fn registered() -> Response {
    answer(200, true, "Registration successful")
}

/// How the warm path ended.
enum Warm {
    /// Stored (or unchanged), or the cold path's refusal.
    Answered(Result<Stored, Response>),
    /// The cold path reads and decides: this isolate does not know the node, what it
    /// knows no longer holds, or the remembered keys (`tried_keys`) did not sign.
    Cold { tried_keys: Vec<String> },
}

/// The warm path: one conditional write when the key this isolate remembers for the
/// node signed the request (core::nodes::warm).
async fn warm(
    db: &Db,
    config: &Config,
    registration: &NodeRegistration,
    nonce: &str,
    now_ms: i64,
) -> Result<Warm, Problem> {
    let node_ip = &registration.node_ip;
    let messages = registration.messages();
    let messages: Vec<&[u8]> = messages.iter().map(|m| m.as_bytes()).collect();
    let id_org = registration.fields.id_org.as_deref();
    let signer = match known_signer(node_ip, id_org, &messages, &registration.signature) {
        KnownNodeCheck::Signed(signer) => signer,
        KnownNodeCheck::NotSigned(key_ids) => {
            return Ok(Warm::Cold {
                tried_keys: key_ids,
            })
        }
        KnownNodeCheck::Unknown => {
            return Ok(Warm::Cold {
                tried_keys: Vec::new(),
            })
        }
    };
    let (org_id, key_id) = (signer.org_id, signer.key_id);
    let write = node_write(
        config,
        registration,
        signer.message,
        (&org_id, &key_id),
        nonce,
        now_ms,
    );
    let (applied, state) = nodes::update_registered(db, &write).await?;
    let answer = match warm::decide(applied, &org_id, registration.timestamp.ms, &state) {
        WarmOutcome::Stored => Ok(Stored::Written),
        WarmOutcome::Unchanged => Ok(Stored::Unchanged),
        WarmOutcome::OrgUnusable => Err(bad_request(ORG_UNUSABLE)),
        WarmOutcome::Replay => Err(bad_request(REPLAY)),
        WarmOutcome::Recheck => {
            // The key signed; what the cache assumed of it no longer holds.
            forget_node(node_ip, &org_id);
            return Ok(Warm::Cold {
                tried_keys: Vec::new(),
            });
        }
    };
    Ok(Warm::Answered(answer))
}

/// The write of `registration`, verified as its `messages()[message]` by the key
/// `(org_id, key_id)`; `nonce` is its signature's `nonce_key`.
fn node_write<'a>(
    config: &Config,
    registration: &'a NodeRegistration,
    message: usize,
    (org_id, key_id): (&'a str, &'a str),
    nonce: &'a str,
    now_ms: i64,
) -> NodeWrite<'a> {
    let fields = &registration.fields;
    let signs_every_field = registration.signs_every_field(message);
    NodeWrite {
        ip: &registration.node_ip,
        provider: registration.provider,
        status: &fields.status,
        region: &fields.region,
        version: &fields.version,
        org_id,
        key_id,
        node_services: registration.node_services,
        signed_at_ms: registration.timestamp.ms,
        now_ms,
        // Only a message that signs every stored field may go unwritten. The installer's
        // (`ip|region|timestamp`) leaves provider, status, version and services unsigned:
        // an unwritten one would stay a fresh, unused signature that anyone who saw it
        // could send again with other values, newer than the stored row. So the
        // installer's heartbeats are written, and their nonce remembered, every time
        // (SECURITY.md, "Threat model", Replay).
        seen_resolution_ms: if signs_every_field {
            i64::from(config.node_seen_resolution_seconds) * 1000
        } else {
            0
        },
        // The installer's message is also what `POST /secrets` verifies: the write
        // refuses a signature /secrets already answered, KV or not (store::nodes).
        secrets_nonce: (!signs_every_field).then_some(nonce),
        org_signed: registration.signs_org(message),
        nodes_max: config.nodes_max,
    }
}
