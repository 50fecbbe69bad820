//! `gatehouse-cli admin node-env-{set,list,delete}`: an organization's service
//! environments, as an operator sets them (docs/nodes.md, "Service environments").
//! The file is sealed here, exactly as the worker seals it (core::node_env::at_rest),
//! under the worker's own `NODE_ENV_KEY`, so only sealed text reaches wrangler and D1.

use super::args::{NodeEnvSetArgs, NodeEnvTarget, OrgTarget};
use super::{execute, now_ms, part, print_json, rows, sql};
use aes::cipher::{KeyIvInit, StreamCipher};
use gatehouse_core::crypto::{random_bytes, uuid_v4};
use gatehouse_core::node_env::at_rest::{self, NodeEnvKey};
use gatehouse_core::node_env::{EnvFile, Service};
use serde_json::json;

pub fn set(args: &NodeEnvSetArgs) -> Result<(), String> {
    let t = &args.target;
    let org = sql::checked_id(&t.org)?;
    let service = Service::parse(&t.service).map_err(|e| e.0)?;
    let key = NodeEnvKey::parse(&args.node_env_key).map_err(|e| format!("NODE_ENV_KEY: {e}"))?;
    let text =
        std::fs::read_to_string(&args.file).map_err(|e| format!("{}: {e}", args.file.display()))?;
    let file = EnvFile::parse(text).map_err(|e| e.0)?;
    let iv = random_bytes::<16>().map_err(|e| format!("no randomness: {e}"))?;
    let mut ct = file.as_bytes().to_vec();
    ctr::Ctr128BE::<aes::Aes256>::new(&key.cipher_key().into(), &iv.into())
        .apply_keystream(&mut ct);
    let sealed = at_rest::seal(&key, org, service, &iv, &ct);
    let audit_id = uuid_v4().map_err(|e| format!("no randomness: {e}"))?;
    let size = file.as_bytes().len();
    let results = execute(
        &t.place,
        &sql::node_env_set(org, service.as_str(), &sealed, size, &audit_id, now_ms()),
    )?;
    if part(&results, 0).is_empty() {
        return Err(format!("no organization {org:?}"));
    }
    println!(
        "organization {org}: {} environment set ({size} bytes)",
        service.as_str()
    );
    Ok(())
}

pub fn list(t: &OrgTarget) -> Result<(), String> {
    let org = sql::checked_id(&t.org)?;
    let results = execute(&t.place, &sql::node_env_list(org))?;
    print_json(&json!(rows::readable(part(&results, 0))));
    Ok(())
}

pub fn delete(t: &NodeEnvTarget) -> Result<(), String> {
    let org = sql::checked_id(&t.org)?;
    let service = Service::parse(&t.service).map_err(|e| e.0)?;
    let audit_id = uuid_v4().map_err(|e| format!("no randomness: {e}"))?;
    let results = execute(
        &t.place,
        &sql::node_env_delete(org, service.as_str(), &audit_id, now_ms()),
    )?;
    if part(&results, 1).is_empty() {
        return Err(format!(
            "organization {org:?} has no {} environment",
            service.as_str()
        ));
    }
    println!(
        "organization {org}: {} environment deleted",
        service.as_str()
    );
    Ok(())
}
