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
