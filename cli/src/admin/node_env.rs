//! `gatehouse-cli admin node-env-{set,list,delete,reseal}`: an organization's service
//! environments, as an operator sets them (docs/nodes.md, "Service environments"),
//! and every organization's sealed again under a new `NODE_ENV_KEY`. The file is
//! sealed here, exactly as the worker seals it (core::node_env::at_rest), under the
//! worker's own `NODE_ENV_KEY`, so only sealed text reaches wrangler and D1.

use super::args::{NodeEnvResealArgs, NodeEnvSetArgs, NodeEnvTarget, OrgTarget, WorkerKeyCheck};
use super::{confirm, execute, now_ms, part, print_json, rows, sql};
use crate::out::outln;
use aes::cipher::{KeyIvInit, StreamCipher};
use gatehouse_core::crypto::{random_bytes, uuid_v4};
use gatehouse_core::node_env::at_rest::{self, NodeEnvKey};
use gatehouse_core::node_env::{EnvFile, Service};
use serde_json::{json, Value};

pub fn set(args: &NodeEnvSetArgs) -> Result<(), String> {
    let t = &args.target;
    let org = sql::checked_id(&t.org)?;
    let service = Service::parse(&t.service).map_err(|e| e.0)?;
    let key = NodeEnvKey::parse(&args.node_env_key).map_err(|e| format!("NODE_ENV_KEY: {e}"))?;
    check_worker_holds(&args.worker, t.place.remote, &key, None)?;
    confirm(&t.place, "set an environment", org)?;
    let text =
        std::fs::read_to_string(&args.file).map_err(|e| format!("{}: {e}", args.file.display()))?;
    let file = EnvFile::parse(text).map_err(|e| e.0)?;
    let sealed = seal(&key, org, service, file.as_bytes().to_vec())?;
    let audit_id = uuid_v4().map_err(|e| format!("no randomness: {e}"))?;
    let size = file.as_bytes().len();
    let results = execute(
        &t.place,
        &sql::node_env_set(org, service.as_str(), &sealed, size, &audit_id, now_ms()),
    )?;
    if part(&results, 0).is_empty() {
        return Err(format!("no organization {org:?}"));
    }
    outln!(
        "organization {org}: {} environment set ({size} bytes)",
        service.as_str()
    );
    Ok(())
}

/// Asks the worker (`GET /health`) which NODE_ENV_KEY it holds and refuses to seal
/// unless it is `key`: a row sealed under another key would not open there (its
/// organization's `/secrets` would answer 500), and a rotation's reseal with its keys
/// swapped would seal every row under the key being retired. Skipped with
/// --no-worker-check.
fn check_worker_holds(
    check: &WorkerKeyCheck,
    remote: bool,
    key: &NodeEnvKey,
    previous: Option<&NodeEnvKey>,
) -> Result<(), String> {
    let Some(url) = check.url.as_deref() else {
        return Ok(());
    };
    let url = worker_url(url, remote)?;
    let health = crate::http::Client::new(check.ca_cert.as_deref())?
        .get(&format!("{url}/health"), None)
        .map_err(|e| {
            format!("{e}: the worker must answer GET /health (or pass --no-worker-check); nothing was written")
        })?;
    worker_holds(url, health, key, previous)
}

/// `--url` without a trailing slash; with --remote, only `https://`: over plain HTTP
/// anyone on the way could answer for the deployed worker.
fn worker_url(url: &str, remote: bool) -> Result<&str, String> {
    if remote && !url.starts_with("https://") {
        return Err(format!(
            "--url {url}: with --remote, the deployed worker's https:// URL (its \
             PUBLIC_URL); nothing was written"
        ));
    }
    Ok(url.trim_end_matches('/'))
}

/// What the worker's `/health` answer says of `key` (and of `previous`, the key a
/// rotation retires), as [`check_worker_holds`] needs it.
fn worker_holds(
    url: &str,
    (status, body): (u16, String),
    key: &NodeEnvKey,
    previous: Option<&NodeEnvKey>,
) -> Result<(), String> {
    let health = serde_json::from_str::<Value>(&body).unwrap_or_default();
    let Some(ids) = health.get("keyIds") else {
        let why = if health["checks"]["config"] == "ok" {
            "it runs a version from before key ids: deploy this one first, or \
             pass --no-worker-check"
        } else {
            "its configuration is wrong (see the worker's log) or this is not \
             the worker's URL"
        };
        return Err(format!(
            "{url}/health (HTTP {status}) names no NODE_ENV_KEY: {why}; nothing \
             was written"
        ));
    };
    let given = key.id();
    match ids["nodeEnv"].as_str() {
        Some(id) if id == given => Ok(()),
        None => Err(format!(
            "the worker at {url} has no NODE_ENV_KEY: put it first \
             (docs/deploying.md); nothing was written"
        )),
        Some(id) if previous.is_some_and(|p| p.id() == id) => Err(format!(
            "the worker at {url} holds as its NODE_ENV_KEY the key given as \
             NODE_ENV_KEY_PREVIOUS (id {id}): the two are swapped, or the new \
             secret has not reached this location yet (wait a minute); \
             nothing was written"
        )),
        Some(id) => Err(format!(
            "the worker at {url} holds another NODE_ENV_KEY (id {id}) than \
             the one given (id {given}): what this sealed would not open \
             there. Give the worker's key (just put a new one? wait a minute \
             for it to reach every location); nothing was written"
        )),
    }
}

/// `file` sealed under `key` for the organization's service, with a fresh iv.
fn seal(key: &NodeEnvKey, org: &str, service: Service, file: Vec<u8>) -> Result<String, String> {
    let iv = random_bytes::<16>().map_err(|e| format!("no randomness: {e}"))?;
    let ct = aes_ctr(key, &iv, file);
    Ok(at_rest::seal(key, org, service, &iv, &ct))
}

/// AES-256-CTR under the key's cipher key: encrypts and decrypts alike.
fn aes_ctr(key: &NodeEnvKey, iv: &[u8; 16], mut data: Vec<u8>) -> Vec<u8> {
    ctr::Ctr128BE::<aes::Aes256>::new(&key.cipher_key().into(), &(*iv).into())
        .apply_keystream(&mut data);
    data
}

/// Rows read per round trip, and the most SQL text one `wrangler d1 execute` is sent
/// (Linux caps one argument at 128 KiB; a row seals at most ~44 KB).
const PAGE: u32 = 50;
const COMMAND_BYTES: usize = 100_000;

/// Walks every service environment in key order and seals again, under the new key,
/// each that opens under the previous one; each write only if the row is unchanged
/// since it was read (sql::node_env_reseal). Prints what it did; fails, after going
/// through them all, if a row opens under neither key.
pub fn reseal(args: &NodeEnvResealArgs) -> Result<(), String> {
    let key = NodeEnvKey::parse(&args.node_env_key).map_err(|e| format!("NODE_ENV_KEY: {e}"))?;
    let previous = NodeEnvKey::parse(&args.previous_node_env_key)
        .map_err(|e| format!("NODE_ENV_KEY_PREVIOUS: {e}"))?;
    if key == previous {
        return Err("NODE_ENV_KEY and NODE_ENV_KEY_PREVIOUS are the same key".into());
    }
    check_worker_holds(&args.worker, args.place.remote, &key, Some(&previous))?;
    confirm(&args.place, "re-seal every service environment", "reseal")?;
    let (mut current, mut sent, mut resealed, mut unreadable) = (0, 0, 0, Vec::new());
    let mut after: Option<(String, String)> = None;
    loop {
        let from = after.as_ref().map(|(o, s)| (o.as_str(), s.as_str()));
        let page = part(&execute(&args.place, &sql::node_env_page(from, PAGE))?, 0);
        let mut writes: Vec<String> = Vec::new();
        for row in &page {
            let text = |c: &str| row[c].as_str().unwrap_or_default().to_owned();
            let (org, service_name, sealed) = (text("org_id"), text("service"), text("sealed"));
            after = Some((org.clone(), service_name.clone()));
            let opened = Service::parse(&service_name).ok().and_then(|service| {
                at_rest::open_rotating(&key, Some(&previous), &org, service, &sealed)
                    .ok()
                    .map(|(opened, by)| (service, opened, by))
            });
            let Some((service, opened, by)) = opened else {
                unreadable.push(format!("{org} {service_name}"));
                continue;
            };
            if by == &key {
                current += 1;
                continue;
            }
            let file = aes_ctr(by, &opened.iv, opened.ct);
            let tail = &sealed[sealed.len().saturating_sub(48)..];
            writes.push(sql::node_env_reseal(
                &org,
                service.as_str(),
                tail,
                &seal(&key, &org, service, file)?,
            ));
            sent += 1;
        }
        for command in batches(writes) {
            // A statement returns its row only if it wrote it.
            let results = execute(&args.place, &command)?;
            resealed += results.iter().filter(|r| !r.rows.is_empty()).count();
        }
        if page.len() < PAGE as usize {
            break;
        }
    }
    let changed = sent - resealed;
    outln!(
        "{resealed} environment(s) sealed again under the new NODE_ENV_KEY, {current} already \
         under it, {changed} changed while read (run again), {} under neither",
        unreadable.len()
    );
    if unreadable.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "these open under neither key; set them again (admin node-env-set, or the \
             organization's PUT …/node-env/{{service}}):\n  {}",
            unreadable.join("\n  ")
        ))
    }
}

/// Statements joined into commands of at most [`COMMAND_BYTES`] (one alone may pass it:
/// a 32 KiB file seals to ~44 KB).
fn batches(statements: Vec<String>) -> Vec<String> {
    let mut commands: Vec<String> = Vec::new();
    for statement in statements {
        match commands.last_mut() {
            Some(last) if last.len() + statement.len() + 2 <= COMMAND_BYTES => {
                last.push_str("; ");
                last.push_str(&statement);
            }
            _ => commands.push(statement),
        }
    }
    commands
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
    outln!(
        "organization {org}: {} environment deleted",
        service.as_str()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deployed_worker_is_asked_over_https_only() {
        let url = |u, remote| worker_url(u, remote);
        assert_eq!(url("https://gh.example/", true), Ok("https://gh.example"));
        assert_eq!(
            url("http://127.0.0.1:8787", false),
            Ok("http://127.0.0.1:8787")
        );
        let plain = url("http://gh.example", true).unwrap_err();
        assert!(plain.contains("https://"), "{plain}");
    }

    #[test]
    fn a_worker_that_holds_another_key_is_not_sealed_for() {
        let key = |b: u8| {
            let hex: String = (0..32u8)
                .map(|i| format!("{:02x}", i.wrapping_mul(7) ^ b))
                .collect();
            NodeEnvKey::parse(&hex).unwrap()
        };
        let (new, old, other) = (key(1), key(2), key(3));
        let health = |current: Option<&NodeEnvKey>| {
            let ids = json!({"nodeEnv": current.map(NodeEnvKey::id), "nodeEnvPrevious": old.id()});
            (200, json!({"status": "ok", "keyIds": ids}).to_string())
        };
        let holds = |answer, previous| worker_holds("https://gh.example", answer, &new, previous);
        assert_eq!(holds(health(Some(&new)), Some(&old)), Ok(()));
        assert_eq!(holds(health(Some(&new)), None), Ok(()));
        let swapped = holds(health(Some(&old)), Some(&old)).unwrap_err();
        assert!(swapped.contains("swapped"), "{swapped}");
        let another = holds(health(Some(&other)), Some(&old)).unwrap_err();
        assert!(
            another.contains(&other.id()) && another.contains(&new.id()),
            "{another}"
        );
        let none = holds(health(None), None).unwrap_err();
        assert!(none.contains("has no NODE_ENV_KEY"), "{none}");
        for (answer, why) in [
            (
                json!({"status": "degraded", "checks": {"config": "error"}}),
                "configuration is wrong",
            ),
            (
                json!({"status": "ok", "checks": {"config": "ok"}}),
                "before key ids",
            ),
        ] {
            let refused = holds((200, answer.to_string()), None).unwrap_err();
            assert!(refused.contains("names no NODE_ENV_KEY"), "{refused}");
            assert!(refused.contains(why), "{refused}");
        }
        let not_json = holds((404, "<html>not found</html>".to_owned()), None).unwrap_err();
        assert!(not_json.contains("not the worker's URL"), "{not_json}");
        for refused in [swapped, another, none] {
            assert!(refused.ends_with("nothing was written"), "{refused}");
        }
    }

    #[test]
    fn statements_are_sent_in_commands_that_stay_under_the_limit() {
        let statement = |n: usize| "x".repeat(n);
        let commands = batches(vec![statement(60_000), statement(39_000), statement(2_000)]);
        assert_eq!(
            commands.iter().map(String::len).collect::<Vec<_>>(),
            [60_000 + 2 + 39_000, 2_000]
        );
        assert!(commands.iter().all(|c| c.len() <= COMMAND_BYTES));
        assert_eq!(
            batches(vec![statement(120_000)]).len(),
            1,
            "one alone goes as it is"
        );
        assert!(batches(Vec::new()).is_empty());
    }
}
