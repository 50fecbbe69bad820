//! `PUT /organization/{idOrg}/node-env/{service}` — OWNER or ADMINISTRATOR (verified
//! email, organization not banned) sets the env file of one of the nodes' services
//! (`s3`, `gcs`, `blob`): `{"env": "<file text>"}`, at most 32 KiB. Sealed under
//! `NODE_ENV_KEY` before it reaches D1; audited (`ENV_SET`) in the same batch, which
//! refuses it (429) once the organization's day of changes is spent
//! (core::org_changes). The answer never repeats the file; the caller's address is
//! told (core::account::notices: nodes run with what is set here, whoever set it).
//! Contract: core::node_env.

use super::node_env_delete::service_or_refusal;
use super::{changes_spent, stopped, Gated};
use crate::email::send_notice_later;
use crate::routes::account::{error, new_id};
use crate::routes::nodes::secrets::node_env_key;
use crate::store::node_env::{self, Change, Put};
use crate::store::Db;
use crate::{http, webcrypto};
use gatehouse_core::account::notices::Notice;
use gatehouse_core::account::{AccountError, ErrorCode};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::node_env::envelope::Fresh;
use gatehouse_core::node_env::{at_rest, parse_put};
use gatehouse_core::time::format_rfc3339_ms;
use serde_json::json;
use worker::{Context, Env, Request, Response};

pub async fn handle(
    mut req: Request,
    env: &Env,
    db: &Db,
    ctx: &Context,
    Gated {
        config,
        org_id,
        caller,
    }: &Gated<'_>,
    service: &str,
) -> Result<Response, Problem> {
    let key = node_env_key(config)?;
    let service = match service_or_refusal(service) {
        Ok(s) => s,
        Err(refusal) => return Ok(refusal),
    };
    let body = http::read_body(&mut req).await?;
    let file = match parse_put(&body) {
        Ok(f) => f,
        Err(e) => return Ok(error(&AccountError::new(ErrorCode::InvalidInput, &e.0))),
    };
    let fresh = Fresh::new().map_err(|_| Problem::Internal)?;
    let ct = webcrypto::aes_256_ctr(&key.cipher_key(), &fresh.iv, file.as_bytes()).await?;
    let sealed = at_rest::seal(key, org_id, service, &fresh.iv, &ct);
    let now_ms = crate::clock::now_ms();
    let change = Change {
        org_id,
        service: service.as_str(),
        actor: caller.actor(),
        audit_id: &new_id()?,
        now_ms,
    };
    let owners = match node_env::put(db, &change, &sealed, file.as_bytes().len()).await? {
        Put::Stored { owners } => owners,
        Put::Stopped(why) => return Ok(stopped(why)),
        Put::ChangesSpent {
            retry_after_seconds,
        } => return Ok(changes_spent(retry_after_seconds)),
    };
    let notice = Notice::NodeEnvSet {
        org_id,
        service: service.as_str(),
    };
    let actor = (caller.user_id.as_str(), caller.email.as_str());
    send_notice_later(ctx, env, config, actor, &owners, &notice, now_ms);
    Ok(http::json(
        200,
        &json!({
            "success": true,
            "message": format!("{} environment set", service.as_str()),
            "data": {
                "service": service.as_str(),
                "sizeBytes": file.as_bytes().len(),
                "updatedAt": format_rfc3339_ms(now_ms),
            },
        }),
    ))
}
