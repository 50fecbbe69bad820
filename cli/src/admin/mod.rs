//! `gatehouse-cli admin …`: the operator's own commands (docs/operations.md).
//!
//! Each runs `wrangler d1 execute` (`d1.rs`) against the local D1 of `wrangler dev`
//! (`--local`, with `--persist-to DIR` when the worker keeps its state elsewhere) or
//! the deployed database (`--remote`, with wrangler's own login), so it needs nothing
//! but the project's wrangler and works the same on both. The command line is in
//! `args.rs` (and `args/`), the SQL in `sql/` (`mod.rs`, `person.rs` for people's
//! accounts and `domain.rs` for a domain's), the
//! commands beyond a statement or two in `incident.rs`, `node_env.rs`, `person.rs`,
//! `domain_erasure.rs` and `domain_block.rs`; and `rows.rs` turns stored epoch milliseconds into RFC 3339 for the operator's eyes.

pub mod args;
mod d1;
mod domain_block;
mod domain_erasure;
mod incident;
mod node_env;
mod node_secrets;
mod person;
mod rows;
mod sql;

use crate::out::outln;
use args::{AdminArgs, AdminCommand, OrgTarget, Place};
use d1::{execute, StatementResult};
use gatehouse_core::nodes::signed::node_identity;
use serde_json::{json, Value};
use std::path::Path;

pub fn run(args: AdminArgs) -> Result<(), String> {
    match args.command {
        AdminCommand::Ban(t) => {
            confirm(&t.place, "ban", sql::checked_id(&t.org)?)?;
            update(
                &t,
                |org| sql::set_banned(org, true),
                "banned: its registrations and writes are refused from now on",
            )
        }
        AdminCommand::Unban(t) => update(&t, |org| sql::set_banned(org, false), "unbanned"),
        AdminCommand::MarkProvider(t) => update(
            &t,
            |org| sql::set_network_provider(org, true),
            "marked as a network provider: its fresh nodes are in GET /node",
        ),
        AdminCommand::UnmarkProvider(t) => update(
            &t,
            |org| sql::set_network_provider(org, false),
            "no longer a network provider",
        ),
        AdminCommand::ShowOrg(t) => show_org(&t.place, sql::checked_id(&t.org)?),
        AdminCommand::KeyAudit(a) => {
            let org = a.org.as_deref().map(sql::checked_id).transpose()?;
            let results = execute(&a.place, &sql::key_audit(org, a.limit))?;
            print_json(&json!(rows::readable(part(&results, 0))));
            Ok(())
        }
        AdminCommand::Stats(a) => stats(&a.place, a.bytes),
        AdminCommand::StaleNodes(a) => {
            let query =
                sql::nodes::stale_nodes(a.offline_after_seconds, a.remove_after_days, a.limit);
            let results = execute(&a.place, &query)?;
            print_json(&json!(rows::readable(part(&results, 0))));
            Ok(())
        }
        AdminCommand::FindNode(a) => {
            // As the worker stores it, so `::ffff:192.0.2.7` finds `192.0.2.7`.
            let ip = node_identity(&a.ip).map_err(|e| e.0)?;
            let results = execute(&a.place, &sql::nodes::nodes_at(&ip))?;
            print_json(&json!({"ip": ip, "nodes": rows::readable(part(&results, 0))}));
            Ok(())
        }
        AdminCommand::FindOrg(a) => {
            let email = sql::checked_email(&a.email)?;
            let results = execute(&a.place, &sql::find_org(&email))?;
            let domain_org = part(&results, 1).into_iter().next();
            let block = part(&results, 2).into_iter().next();
            print_json(&json!({
                "email": email,
                "memberOf": rows::readable(part(&results, 0)),
                "domainClaimedBy": domain_org.map(rows::readable_row),
                "signUpsBlockedBy": block.map(rows::readable_row),
            }));
            Ok(())
        }
        // Each asks for the confirmation itself, once the worker holds its key.
        AdminCommand::NodeEnvSet(a) => node_env::set(&a),
        AdminCommand::NodeEnvList(t) => node_env::list(&t),
        AdminCommand::NodeEnvReseal(a) => node_env::reseal(&a),
        AdminCommand::NodeEnvDelete(t) => {
            confirm(&t.place, "delete an environment", sql::checked_id(&t.org)?)?;
            node_env::delete(&t)
        }
        AdminCommand::RevokeKey(t) => {
            sql::checked_id(&t.org)?;
            confirm(&t.place, "revoke a key", sql::checked_id(&t.key)?)?;
            incident::revoke_key(&t)
        }
        AdminCommand::EndSignIns(a) => {
            confirm(
                &a.place,
                "end every sign-in",
                &sql::checked_email(&a.email)?,
            )?;
            incident::end_sign_ins(&a)
        }
        AdminCommand::DeleteAccount(a) => person::delete_account(&a),
        AdminCommand::DeleteAccountsAt(a) => domain_erasure::delete_accounts_at(&a),
        AdminCommand::BlockDomain(t) => domain_block::block(&t),
        AdminCommand::UnblockDomain(t) => domain_block::unblock(&t),
        AdminCommand::BlockedDomains(a) => domain_block::list(&a.place),
        AdminCommand::PurgeNodeSecrets(t) => node_secrets::purge(&t),
        AdminCommand::ExportAccount(a) => person::export_account(&a),
        AdminCommand::SetRole(a) => person::set_role(&a),
    }
}

/// A command that takes something away in the deployed database (a ban, a revoked key,
/// ended sign-ins, an erased account, an environment replaced or deleted) runs only
/// once the operator typed its `target` (an organization id, an address) or passed
/// `--yes`; without a terminal to ask on, `--yes` is required. Locally nothing is
/// asked.
fn confirm(place: &Place, action: &str, target: &str) -> Result<(), String> {
    use std::io::BufRead;
    if !place.remote || place.yes {
        return Ok(());
    }
    askable(place, action)?;
    eprint!("{action} in the deployed database. Type {target} to go on: ");
    let mut typed = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut typed)
        .map_err(|e| format!("could not read the confirmation: {e}"))?;
    if typed.trim() == target {
        Ok(())
    } else {
        Err("not confirmed: nothing changed".to_owned())
    }
}

/// Whether [`confirm`] could ask: a command that reads before it asks (to show what it
/// would change) checks this first, so a script without `--yes` reads nothing either.
fn askable(place: &Place, action: &str) -> Result<(), String> {
    use std::io::IsTerminal;
    if !place.remote
        || place.yes
        || (std::io::stdin().is_terminal() && std::io::stderr().is_terminal())
    {
        return Ok(());
    }
    Err(format!(
        "{action} in the deployed database (--remote): nothing changed; add --yes to run it without a terminal"
    ))
}

/// Now, in epoch milliseconds (what every stored time is).
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The rows of the `i`th statement's answer.
fn part(results: &[StatementResult], i: usize) -> Vec<Value> {
    results.get(i).map(|r| r.rows.clone()).unwrap_or_default()
}

fn update(target: &OrgTarget, sql: impl Fn(&str) -> String, done: &str) -> Result<(), String> {
    let org = sql::checked_id(&target.org)?;
    let results = execute(&target.place, &sql(org))?;
    if results.first().is_none_or(|r| r.rows.is_empty()) {
        return Err(format!("no organization {org:?}"));
    }
    outln!("organization {org} {done}");
    Ok(())
}

fn show_org(place: &Place, org: &str) -> Result<(), String> {
    let results = execute(place, &sql::show_org(org))?;
    let Some(organization) = part(&results, 0).into_iter().next() else {
        return Err(format!("no organization {org:?}"));
    };
    print_json(&json!({
        "organization": rows::readable_row(organization),
        "members": rows::readable(part(&results, 1)),
        "keys": rows::readable(part(&results, 2)),
        "nodes": rows::readable(part(&results, 3)),
        "trial": part(&results, 4).into_iter().next().map(rows::readable_row),
    }));
    Ok(())
}

/// Rows (and with `bytes` the payload bytes) per table, and the database size: two
/// `wrangler d1 execute` calls (the tables, then one counting statement per table), and
/// with `bytes` one more between them (their columns). Without `bytes` a count reads
/// each table's narrowest index, not its rows.
fn stats(place: &Place, bytes: bool) -> Result<(), String> {
    let names: Vec<String> = part(&execute(place, &sql::stats_tables())?, 0)
        .iter()
        .filter_map(|r| r["name"].as_str().map(str::to_owned))
        .collect();
    let tables = names
        .iter()
        .map(|n| sql::checked_name(n))
        .collect::<Result<Vec<&str>, String>>()?;
    // The columns only to sum their bytes.
    let infos = if bytes {
        execute(place, &sql::stats_columns(&tables))?
    } else {
        Vec::new()
    };
    let columns: Vec<Vec<String>> = (0..tables.len())
        .map(|i| {
            part(&infos, i)
                .iter()
                .filter_map(|c| c["name"].as_str().map(str::to_owned))
                .collect()
        })
        .collect();
    let with_columns = tables
        .iter()
        .zip(&columns)
        .map(|(t, cs)| {
            let cs = cs
                .iter()
                .map(|c| sql::checked_name(c))
                .collect::<Result<Vec<&str>, String>>()?;
            Ok((*t, cs))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let counted = execute(
        place,
        &format!(
            "{}; {}; {}; {}",
            sql::stats_counts(&with_columns, bytes),
            sql::top_domains(),
            sql::top_parent_domains(),
            sql::node_secrets::top_node_secret_networks()
        ),
    )?;
    // D1 reports the size with every answer; the local simulation does not, so locally
    // it is the SQLite file's (with its write-ahead log).
    let size = counted
        .iter()
        .rev()
        .find_map(|r| r.size_after)
        .or_else(|| place.local.then(|| local_database_bytes(place)).flatten());
    let rows: Vec<Value> = (0..tables.len()).flat_map(|i| part(&counted, i)).collect();
    let payload: Option<u64> = bytes.then(|| rows.iter().filter_map(|r| r["bytes"].as_u64()).sum());
    print_json(&json!({
        "databaseBytes": size,
        "limitBytes": DATABASE_LIMIT_BYTES,
        "usedPercent": size.map(|s| (s as f64 * 10_000.0 / DATABASE_LIMIT_BYTES as f64).round() / 100.0),
        "payloadBytes": payload,
        "tables": rows,
        "topDomains": part(&counted, tables.len()),
        "topParentDomains": part(&counted, tables.len() + 1),
        "topNodeSecretNetworks": part(&counted, tables.len() + 2),
    }));
    Ok(())
}

/// The local D1's SQLite file size: wrangler keeps it under
/// `<state>/v3/d1/miniflare-D1DatabaseObject/` (`<state>` is `--persist-to`, else
/// `.wrangler/state`); gatehouse has one database, the largest file there.
fn local_database_bytes(place: &Place) -> Option<u64> {
    let state = place
        .persist_to
        .clone()
        .unwrap_or_else(|| Path::new(".wrangler/state").to_path_buf());
    let dir = state.join("v3/d1/miniflare-D1DatabaseObject");
    let size = |path: &Path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sqlite"))
        .map(|p| size(&p) + size(&p.with_extension("sqlite-wal")))
        .max()
}

/// D1's most a database may hold (docs/operations.md, "Size").
const DATABASE_LIMIT_BYTES: u64 = 10 * 1000 * 1000 * 1000;

fn print_json(value: &Value) {
    outln!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}
