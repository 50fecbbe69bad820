//! `POST /unregister` — a node removes itself, signed by a key of its own organization
//! (contract: core::nodes::unregistration, docs/nodes.md). Same freshness and replay
//! rules as /register; the node row goes, and with it its key association, leaving a
//! tombstone so no registration signed before the removal brings it back. D1: one read
//! batch, one delete batch.

use super::{
    answer, bad_request, forget_node, fresh_and_unused, remember, signing_key, tombstones, REPLAY,
};
use crate::store::nodes;
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::nodes::signed::Invalid;
use gatehouse_core::nodes::unregistration;
use worker::{Env, Request, Response};

pub async fn handle(mut req: Request, env: &Env, db: &Db) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let body = http::read_body(&mut req).await?;
    let request = match unregistration::parse(&body) {
        Ok(r) => r,
        Err(Invalid(message)) => return Ok(bad_request(&message)),
    };
    let nonce =
        match fresh_and_unused(env, db, &config, request.timestamp.ms, &request.signature).await? {
            Ok(nonce) => nonce,
            Err(refusal) => return Ok(refusal),
        };
    let id_org = request.id_org.as_deref();
    let context = nodes::registration_context(db, &request.node_ip, id_org).await?;
    // The signature first: until it verifies, a registered and an unknown address
    // answer alike.
    let key = match signing_key(&context, id_org, &request.messages(), &request.signature) {
        Ok(signer) => signer.key,
        Err(refusal) => return Ok(refusal),
    };
    let Some(existing) = context.node_of(&key.org_id) else {
        return Ok(answer(404, false, "Node not found"));
    };
    if request.timestamp.ms <= existing.last_signed_at_ms
        || !nodes::unregister(
            db,
            &request.node_ip,
            &key.org_id,
            &key.id,
            request.timestamp.ms,
            &tombstones(&config),
        )
        .await?
    {
        // Not newer than the node's last signed request, or a concurrent one won (a
        // newer registration, or a revocation or ban since the read: the next request
        // is refused for it by name).
        return Ok(bad_request(REPLAY));
    }
    forget_node(&request.node_ip, &key.org_id);
    remember(env, db, &config, &nonce).await;
    Ok(answer(200, true, "Node unregistered"))
}
