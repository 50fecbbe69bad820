//! `POST /organization/{idOrg}/key {"publicKey": PEM}` — an OWNER or ADMINISTRATOR
//! uploads their organization's RSA public key (the private key never leaves the
//! node). Authenticated write: verified email required.

use super::account::{error, new_id};
use crate::auth::{self, AuthError};
use crate::store::org_keys::{self, NewKey};
use crate::{config, http};
use gatehouse_core::account::{string_field, AccountError, ErrorCode};
use gatehouse_core::problem::Problem;
use gatehouse_core::rsa_keys::PublicKey;
use gatehouse_core::time::format_rfc3339_ms;
use serde_json::json;
use worker::{Env, Request, Response};

pub async fn create(mut req: Request, env: &Env, org_id: &str) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let now_ms = worker::Date::now().as_millis() as i64;
    let caller = match auth::authenticate(&req, &config, now_ms) {
        Ok(c) => c,
        Err(e) => return refused(e),
    };
    if let Err(e) = auth::require_member(env, &caller, org_id, &["OWNER", "ADMINISTRATOR"]).await {
        return refused(e);
    }
    let body = http::read_body(&mut req).await?;
    let key = match string_field(&body, "publicKey").and_then(|pem| {
        PublicKey::from_pem(&pem)
            .map_err(|e| AccountError::invalid_input(format!("publicKey: {e}")))
    }) {
        Ok(k) => k,
        Err(e) => return Ok(error(&e)),
    };
    let key_id = new_id()?;
    let pem = key.to_spki_pem();
    let stored = org_keys::insert(
        env,
        &NewKey {
            id: &key_id,
            org_id,
            public_key_pem: &pem,
            bits: key.bits(),
            actor_user_id: &caller.sub,
            audit_id: &new_id()?,
            now_ms,
            max_active: config.org_keys_max,
        },
    )
    .await?;
    if !stored {
        return Ok(error(&AccountError::new(
            ErrorCode::QuotaExceeded,
            format!(
                "An organization can have at most {} active keys; revoke one first",
                config.org_keys_max
            ),
        )));
    }
    Ok(http::json(
        201,
        &json!({"success": true, "data": {"id": key_id, "orgId": org_id, "publicKey": pem, "createdAt": format_rfc3339_ms(now_ms)}}),
    ))
}

fn refused(e: AuthError) -> Result<Response, Problem> {
    match e {
        AuthError::Account(e) => Ok(error(&e)),
        AuthError::Problem(p) => Err(p),
    }
}
