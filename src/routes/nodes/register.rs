//! `POST /register` — a bridge node registers with an RSA signature made by its
//! organization's private key, in any of the three accepted forms (contract:
//! core::nodes::registration, docs/nodes.md).
//!
//! Replays are refused twice over: a KV nonce per signature (checked first; a KV
//! failure there fails closed), and in D1 a conditional write that only applies a
//! strictly newer signed timestamp.
//!
//! D1: a node this isolate has verified before takes the warm path, one conditional
//! write batch on the primary that decides everything (core::nodes::warm); otherwise
//! (or when that write finds the cache out of date) the cold path: one read batch,
//! then one write batch.

use super::{
    answer, bad_request, forget_node, fresh_and_unused, known_signer, remember, remember_node,
    signing_key, ORG_UNUSABLE, REPLAY,
};
use crate::store::nodes::{self, NodeWrite};
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::nodes::registration::{self, NodeRegistration};
use gatehouse_core::nodes::signed::{Invalid, INVALID_SIGNATURE};
use gatehouse_core::nodes::warm::{self, ColdRefusal, WarmOutcome};
use worker::{Env, Request, Response};

pub async fn handle(mut req: Request, env: &Env, db: &Db) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let body = http::read_body(&mut req).await?;
    let registration = match registration::parse(&body) {
        Ok(r) => r,
        Err(Invalid(message)) => return Ok(bad_request(&message)),
    };
    let nonce = match fresh_and_unused(
        env,
        db,
        &config,
        registration.timestamp.ms,
        &registration.signature,
    )
    .await?
    {
        Ok(nonce) => nonce,
        Err(refusal) => return Ok(refusal),
    };

    let now_ms = crate::clock::now_ms();
    if !config.d1_simulation.baseline {
        if let Some(warm) = warm(db, &registration, now_ms).await? {
            return Ok(match warm {
                Ok(()) => {
                    remember(env, db, &config, &nonce).await;
                    registered()
                }
                Err(refusal) => refusal,
            });
        }
    }

    let id_org = registration.fields.id_org.as_deref();
    let context = nodes::registration_context(db, &registration.node_ip, id_org).await?;
    let messages = registration.messages();
    let signer = match signing_key(&context, id_org, &messages, &registration.signature) {
        Ok(signer) => signer,
        Err(refusal) => return Ok(refusal),
    };
    let key = signer.key;
    match context.node_of(&key.org_id) {
        Some(existing) if registration.timestamp.ms <= existing.last_signed_at_ms => {
            return Ok(bad_request(REPLAY));
        }
        Some(_) => {}
        None if key.proven == 0 && !registration.signs_org(signer.message) => {
            return Ok(bad_request(UNPROVEN_KEY));
        }
        None => {}
    }
    let write = node_write(&registration, &key.org_id, &key.id, now_ms);
    let (applied, state) = nodes::upsert_node(db, &write).await?;
    if !applied {
        // What changed between the read and the write decides the answer: a revoked
        // key or a ban since, a tombstone, or a concurrent newer request.
        return Ok(bad_request(match warm::cold_refusal(&state) {
            ColdRefusal::OrgUnusable => ORG_UNUSABLE,
            ColdRefusal::KeyRevoked => INVALID_SIGNATURE,
            ColdRefusal::Replay => REPLAY,
        }));
    }
    remember_node(&registration.node_ip, key, &context.keys);
    remember(env, db, &config, &nonce).await;
    Ok(registered())
}

/// A key uploaded without proof of possession may have been copied from its real
/// owner; in the installer's form the organization is not signed, so such a key could
/// move the owner's first registration into the copier's organization.
const UNPROVEN_KEY: &str = "This key was uploaded without proof of possession, so it cannot \
     verify a node's first registration in the installer's form (ip|region|timestamp does not \
     sign id_org): sign in the gatehouse v1 form, or upload the key again with a proof";

fn registered() -> Response {
    answer(200, true, "Registration successful")
}

/// The warm path: `None` when this isolate does not know the node, or what it knows
/// does not verify or no longer holds (then the cold path reads and decides);
/// `Some(Ok)` when stored, `Some(Err)` with the cold path's refusal otherwise.
async fn warm(
    db: &Db,
    registration: &NodeRegistration,
    now_ms: i64,
) -> Result<Option<Result<(), Response>>, Problem> {
    let node_ip = &registration.node_ip;
    let messages = registration.messages();
    let messages: Vec<&[u8]> = messages.iter().map(|m| m.as_bytes()).collect();
    let id_org = registration.fields.id_org.as_deref();
    let Some((org_id, key_id)) = known_signer(node_ip, id_org, &messages, &registration.signature)
    else {
        return Ok(None);
    };
    let write = node_write(registration, &org_id, &key_id, now_ms);
    let (applied, state) = nodes::update_registered(db, &write).await?;
    Ok(
        match warm::decide(applied, &org_id, registration.timestamp.ms, &state) {
            WarmOutcome::Stored => Some(Ok(())),
            WarmOutcome::OrgUnusable => Some(Err(bad_request(ORG_UNUSABLE))),
            WarmOutcome::Replay => Some(Err(bad_request(REPLAY))),
            WarmOutcome::Recheck => {
                forget_node(node_ip);
                None
            }
        },
    )
}

fn node_write<'a>(
    registration: &'a NodeRegistration,
    org_id: &'a str,
    key_id: &'a str,
    now_ms: i64,
) -> NodeWrite<'a> {
    let fields = &registration.fields;
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
    }
}
