//! `POST /organization/{idOrg}/key` — OWNER or ADMINISTRATOR adds an RSA key.
//!
//! - bring your own key (preferred: the private key never leaves the node):
//!   `{"publicKey": PEM, "proof"?: base64}` → 201 JSON with the stored public key; the
//!   optional proof of possession (core::org_keys) lets the key verify first
//!   registrations in the installer's form and supersede an unproven copy elsewhere;
//! - generate (compatibility): no body → after the role, quota and rate checks (it
//!   costs 0.5–4 s of CPU), a new RSA-2048 pair made in wasm; the public half is
//!   stored and the private key PEM is returned once, never stored (docs/accounts.md,
//!   "Organization keys and nodes" has its CPU cost): with `Accept:
//!   application/x-pem-file` as the raw PEM (201), otherwise — the Flashback client's
//!   `generateOrgKey`, which sends no Accept and parses JSON — as a JSON string (200).
//!
//! Either way the caller's address is told (core::account::notices): a key outlives
//! the sign-in that added it, so one added with a stolen token stays until someone
//! who learns of it revokes it.

use super::{changes_spent, stopped, Gated};
use crate::email::{send_notice_later, send_unattributed_notice_later};
use crate::http;
use crate::routes::account::{error, new_id};
use crate::store::org_keys::{self, Insert, NewKey, Refusal};
use crate::store::Db;
use gatehouse_core::account::notices::Notice;
use gatehouse_core::account::{AccountError, ErrorCode};
use gatehouse_core::config::Config;
use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_core::http::problem::Problem;
use gatehouse_core::http::rate_limit::{client_network, AUTH_LIMITER};
use gatehouse_core::org_keys::parse_upload;
use gatehouse_core::time::format_rfc3339_ms;
use serde_json::json;
use worker::{Context, Env, Request, Response, ResponseBuilder};

pub const PEM_MEDIA_TYPE: &str = "application/x-pem-file";
const GENERATED_BITS: usize = 2048;

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
) -> Result<Response, Problem> {
    let wants_pem = req
        .headers()
        .get("accept")
        .ok()
        .flatten()
        .is_some_and(|a| a.contains(PEM_MEDIA_TYPE));
    let body = http::read_body(&mut req).await?;
    let (public, private, proven) = if body.is_empty() {
        // Generation costs 0.5–4 s of CPU: only for a caller who may add a key now,
        // at a bounded pace per organization and per network.
        let now_ms = crate::clock::now_ms();
        if let Some(refusal) = before_generating(&req, env, db, config, org_id, now_ms).await? {
            return Ok(refusal);
        }
        let private = PrivateKey::generate(GENERATED_BITS).map_err(|e| {
            worker::console_error!("key generation failed: {e}");
            Problem::Internal
        })?;
        (private.public_key(), Some(private), true)
    } else {
        match parse_upload(&body, org_id) {
            Ok(upload) => (upload.key, None, upload.proven),
            Err(e) => return Ok(error(&e)),
        }
    };
    let now_ms = crate::clock::now_ms();
    let key_id = new_id()?;
    let pem = public.to_spki_pem();
    let stored = org_keys::insert(
        db,
        &NewKey {
            id: &key_id,
            org_id,
            public_key_pem: &pem,
            bits: public.bits(),
            proven,
            actor: caller.actor(),
            audit_id: &new_id()?,
            now_ms,
            max_active: config.org_keys_max,
        },
    )
    .await?;
    let (owners, superseded) = match stored {
        Insert::Stored { owners, superseded } => (owners, superseded),
        Insert::Refused(why) => return Ok(refusal(why, config)),
    };
    let notice = Notice::KeyAdded {
        org_id,
        key_id: &key_id,
    };
    let actor = (caller.user_id.as_str(), caller.email.as_str());
    send_notice_later(ctx, env, config, actor, &owners, &notice, now_ms);
    // The organization whose unproven copy this proven upload revoked learns that its
    // nodes no longer verify with it, and from nobody's address.
    if let Some(copy) = superseded {
        let notice = Notice::KeyProvenElsewhere {
            org_id: &copy.org_id,
            key_id: &copy.key_id,
        };
        send_unattributed_notice_later(ctx, env, config, &copy.owners, &notice, now_ms);
    }
    if let Some(private) = private {
        if !wants_pem {
            let response = http::json(200, &private.to_pkcs8_pem());
            let _ = response.headers().set("x-gatehouse-key-id", &key_id);
            return Ok(response);
        }
        let headers = worker::Headers::new();
        let _ = headers.set("content-type", PEM_MEDIA_TYPE);
        let _ = headers.set("cache-control", "no-store");
        let _ = headers.set("x-content-type-options", "nosniff");
        let _ = headers.set("x-gatehouse-key-id", &key_id);
        return Ok(ResponseBuilder::new()
            .with_status(201)
            .with_headers(headers)
            .fixed(private.to_pkcs8_pem().into_bytes()));
    }
    Ok(http::json(
        201,
        &json!({"success": true, "data": {"id": key_id, "orgId": org_id, "publicKey": pem, "createdAt": format_rfc3339_ms(now_ms)}}),
    ))
}

/// The answer to an insert that stored nothing.
fn refusal(why: Refusal, config: &Config) -> Response {
    match why {
        Refusal::ChangesSpent {
            retry_after_seconds,
        } => changes_spent(retry_after_seconds),
        Refusal::QuotaFull => error(&quota_full(config)),
        Refusal::Stopped(why) => stopped(why),
        Refusal::KeyExists => error(&AccountError::new(
            ErrorCode::KeyExists,
            "This public key is already active in an organization; a key belongs to one \
             organization at a time (if it is yours, upload it with a proof of possession: \
             see \"proof\")",
        )),
    }
}

fn quota_full(config: &Config) -> AccountError {
    AccountError::new(
        ErrorCode::QuotaExceeded,
        format!(
            "An organization can have at most {} active keys; revoke one first",
            config.org_keys_max
        ),
    )
}

/// Whether a key may be generated now: the organization has room for it and changes
/// left today (read on the primary; the insert checks again), and neither the
/// organization nor the caller's network has generated 10 in the last minute. `Some`
/// is the refusal to send.
async fn before_generating(
    req: &Request,
    env: &Env,
    db: &Db,
    config: &Config,
    org_id: &str,
    now_ms: i64,
) -> Result<Option<Response>, Problem> {
    if config.rate_limits {
        let network = client_network(&crate::rate_limit::client_ip(req));
        for key in [
            format!("keygen:org:{org_id}"),
            format!("keygen:ip:{network}"),
        ] {
            crate::rate_limit::check(env, AUTH_LIMITER, key).await?;
        }
    }
    let room = org_keys::room(db, org_id, now_ms).await?;
    if let Some(retry_after_seconds) = room.changes_spent {
        return Ok(Some(changes_spent(retry_after_seconds)));
    }
    if room.active >= config.org_keys_max {
        return Ok(Some(error(&quota_full(config))));
    }
    Ok(None)
}
