//! `POST /register` — a bridge node registers with an RSA signature made by its
//! organization's private key, in any of the three accepted forms (contract:
//! core::nodes::registration, README).
//!
//! Replays are refused twice over: a KV nonce per signature (checked first; a KV
//! failure there fails closed), and in D1 a conditional upsert that only applies a
//! strictly newer signed timestamp. Storage: one D1 read batch and one D1 write batch
//! per request.

use super::{answer, bad_request, fresh_and_unused, remember, signing_key, REPLAY};
use crate::store::nodes::{self, NodeWrite};
use crate::{config, http};
use gatehouse_core::nodes::registration;
use gatehouse_core::nodes::signed::Invalid;
use gatehouse_core::problem::Problem;
use worker::{Env, Request, Response};

pub async fn handle(mut req: Request, env: &Env) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let body = http::read_body(&mut req).await?;
    let registration = match registration::parse(&body) {
        Ok(r) => r,
        Err(Invalid(message)) => return Ok(bad_request(&message)),
    };
    let nonce = match fresh_and_unused(
        env,
        &config,
        registration.timestamp.ms,
        &registration.signature,
    )
    .await?
    {
        Ok(nonce) => nonce,
        Err(refusal) => return Ok(refusal),
    };

    let fields = &registration.fields;
    let id_org = fields.id_org.as_deref();
    let context = nodes::registration_context(env, &registration.node_ip, id_org).await?;
    let key = match signing_key(
        &context,
        id_org,
        &registration.messages(),
        &registration.signature,
    ) {
        Ok(key) => key,
        Err(refusal) => return Ok(refusal),
    };
    if let Some(existing) = &context.existing {
        if registration.timestamp.ms <= existing.last_signed_at_ms {
            return Ok(bad_request(REPLAY));
        }
    }
    let now_ms = worker::Date::now().as_millis() as i64;
    let applied = nodes::upsert_node(
        env,
        &NodeWrite {
            ip: &registration.node_ip,
            provider: registration.provider,
            status: &fields.status,
            region: &fields.region,
            version: &fields.version,
            org_id: &key.org_id,
            key_id: &key.id,
            node_services: registration.node_services,
            signed_at_ms: registration.timestamp.ms,
            now_ms,
        },
    )
    .await?;
    if !applied {
        // A concurrent request with the same or a newer timestamp won the race (or,
        // for a new node, another organization's first registration of this address).
        return Ok(bad_request(REPLAY));
    }
    remember(env, &config, &nonce).await;
    Ok(answer(200, true, "Registration successful"))
}
