//! Organization keys managed through the API, with their audit trail.

use super::{d1, storage_failure};
use gatehouse_core::problem::Problem;
use wasm_bindgen::JsValue;
use worker::Env;

pub struct NewKey<'a> {
    pub id: &'a str,
    pub org_id: &'a str,
    pub public_key_pem: &'a str,
    pub bits: usize,
    pub actor_user_id: &'a str,
    pub audit_id: &'a str,
    pub now_ms: i64,
    pub max_active: u32,
}

/// Inserts the key and its audit row in one batch, only while the organization has
/// fewer than `max_active` active keys (checked inside the insert, so two concurrent
/// uploads cannot both slip under the quota). Returns false when the quota is full.
pub async fn insert(env: &Env, key: &NewKey<'_>) -> Result<bool, Problem> {
    let db = d1(env)?;
    let fail = |e| storage_failure("org_keys.insert", e);
    let s = JsValue::from_str;
    let n = |v: f64| JsValue::from_f64(v);
    let insert = db
        .prepare(
            "INSERT INTO org_keys (id, org_id, public_key_pem, bits, created_at_ms) \
             SELECT ?1, ?2, ?3, ?4, ?5 WHERE \
             (SELECT count(*) FROM org_keys WHERE org_id = ?2 AND revoked_at_ms IS NULL) < ?6",
        )
        .bind(&[
            s(key.id),
            s(key.org_id),
            s(key.public_key_pem),
            n(key.bits as f64),
            n(key.now_ms as f64),
            n(f64::from(key.max_active)),
        ])
        .map_err(fail)?;
    let audit = db
        .prepare(
            "INSERT INTO key_audit (id, org_id, key_id, actor_user_id, action, at_ms) \
             SELECT ?1, ?2, ?3, ?4, 'CREATE', ?5 WHERE EXISTS (SELECT 1 FROM org_keys WHERE id = ?3)",
        )
        .bind(&[s(key.audit_id), s(key.org_id), s(key.id), s(key.actor_user_id), n(key.now_ms as f64)])
        .map_err(fail)?;
    let results = db.batch(vec![insert, audit]).await.map_err(fail)?;
    let inserted = results
        .first()
        .and_then(|r| r.meta().ok().flatten())
        .and_then(|m| m.changes)
        .unwrap_or(0);
    Ok(inserted > 0)
}

#[derive(serde::Deserialize)]
pub struct KeyRow {
    pub id: String,
    pub public_key_pem: String,
    pub created_at_ms: f64,
}

/// One batch: the organization's active keys (newest first) and its nodes.
pub async fn list(
    env: &Env,
    org_id: &str,
) -> Result<(Vec<KeyRow>, Vec<super::nodes::NodeRow>), Problem> {
    let db = d1(env)?;
    let fail = |e| storage_failure("org_keys.list", e);
    let keys = db
        .prepare(
            "SELECT id, public_key_pem, created_at_ms FROM org_keys \
             WHERE org_id = ?1 AND revoked_at_ms IS NULL ORDER BY created_at_ms DESC, id",
        )
        .bind(&[JsValue::from_str(org_id)])
        .map_err(fail)?;
    let nodes = db
        .prepare(super::nodes::NODES_OF_ORG)
        .bind(&[JsValue::from_str(org_id)])
        .map_err(fail)?;
    let results = db.batch(vec![keys, nodes]).await.map_err(fail)?;
    let keys = results
        .first()
        .map(|r| r.results())
        .transpose()
        .map_err(fail)?
        .unwrap_or_default();
    let nodes = results
        .get(1)
        .map(|r| r.results())
        .transpose()
        .map_err(fail)?
        .unwrap_or_default();
    Ok((keys, nodes))
}

/// Revokes an active key of the organization and records who did it, in one batch.
/// Returns false when there is no such active key.
pub async fn revoke(
    env: &Env,
    org_id: &str,
    key_id: &str,
    actor_user_id: &str,
    audit_id: &str,
    now_ms: i64,
) -> Result<bool, Problem> {
    let db = d1(env)?;
    let fail = |e| storage_failure("org_keys.revoke", e);
    let s = JsValue::from_str;
    let now = JsValue::from_f64(now_ms as f64);
    let revoke = db
        .prepare("UPDATE org_keys SET revoked_at_ms = ?3 WHERE id = ?1 AND org_id = ?2 AND revoked_at_ms IS NULL")
        .bind(&[s(key_id), s(org_id), now.clone()])
        .map_err(fail)?;
    let audit = db
        .prepare(
            "INSERT INTO key_audit (id, org_id, key_id, actor_user_id, action, at_ms) \
             SELECT ?1, ?2, ?3, ?4, 'REVOKE', ?5 WHERE EXISTS \
             (SELECT 1 FROM org_keys WHERE id = ?3 AND org_id = ?2 AND revoked_at_ms = ?5)",
        )
        .bind(&[s(audit_id), s(org_id), s(key_id), s(actor_user_id), now])
        .map_err(fail)?;
    let results = db.batch(vec![revoke, audit]).await.map_err(fail)?;
    let changed = results
        .first()
        .and_then(|r| r.meta().ok().flatten())
        .and_then(|m| m.changes)
        .unwrap_or(0);
    Ok(changed > 0)
}
