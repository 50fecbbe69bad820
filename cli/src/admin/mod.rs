//! `gatehouse-cli admin …`: the operator's own commands (docs/operations.md).
//!
//! Each runs `wrangler d1 execute` against the local D1 of `wrangler dev` (`--local`,
//! with `--persist-to DIR` when the worker keeps its state elsewhere) or the deployed
//! database (`--remote`, with wrangler's own login), so it needs nothing but the
//! project's wrangler and works the same on both. The command line is in `args.rs`,
//! the SQL in `sql.rs`, and `rows.rs` turns stored epoch milliseconds into RFC 3339
//! for the operator's eyes.

pub mod args;
mod node_env;
mod rows;
mod sql;

use args::{AdminArgs, AdminCommand, OrgTarget, Place};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};

pub fn run(args: AdminArgs) -> Result<(), String> {
    match args.command {
        AdminCommand::Ban(t) => update(
            &t,
            |org| sql::set_banned(org, true),
            "banned: its registrations and writes are refused from now on",
        ),
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
        AdminCommand::FindOrg(a) => {
            let email = sql::checked_email(&a.email)?;
            let results = execute(&a.place, &sql::find_org(&email))?;
            let domain_org = part(&results, 1).into_iter().next();
            print_json(&json!({
                "email": email,
                "memberOf": rows::readable(part(&results, 0)),
                "domainClaimedBy": domain_org.map(rows::readable_row),
            }));
            Ok(())
        }
        AdminCommand::NodeEnvSet(a) => node_env::set(&a),
        AdminCommand::NodeEnvList(t) => node_env::list(&t),
        AdminCommand::NodeEnvDelete(t) => node_env::delete(&t),
    }
}

/// One statement's answer.
#[derive(Clone, Default)]
struct StatementResult {
    rows: Vec<Value>,
}

fn execute(place: &Place, sql: &str) -> Result<Vec<StatementResult>, String> {
    let out = wrangler()
        .args(["d1", "execute", "DB", "--json"])
        .args(place.wrangler_flags())
        .args(["--command", sql])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            format!("could not run wrangler ({e}); run from the project directory, or set WRANGLER=/path/to/gatehouse/node_modules/.bin/wrangler and pass --config /path/to/gatehouse/wrangler.toml")
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "wrangler d1 execute failed:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let parsed: Value = serde_json::from_str(&stdout)
        .map_err(|e| format!("unexpected wrangler output ({e}): {stdout}"))?;
    let results = parsed.as_array().ok_or("unexpected wrangler output")?;
    Ok(results
        .iter()
        .map(|r| StatementResult {
            rows: r["results"].as_array().cloned().unwrap_or_default(),
        })
        .collect())
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
    println!("organization {org} {done}");
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

fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// The project's wrangler, with a Node 22 first on PATH (wrangler needs it; `make`
/// installs it into node_modules/.bin, next to wrangler). From the project directory
/// that is ./node_modules/.bin; anywhere else `WRANGLER=/path/to/gatehouse/node_modules/.bin/wrangler`
/// names it, and the directory it is in goes first on PATH so its Node is found too.
fn wrangler() -> Command {
    let local_bin = Path::new("node_modules/.bin");
    let (program, bin_dir) = match std::env::var_os("WRANGLER") {
        Some(program) => {
            let dir = Path::new(&program).parent().map(Path::to_path_buf);
            (program, dir)
        }
        None if local_bin.join("wrangler").exists() => (
            local_bin.join("wrangler").into_os_string(),
            Some(local_bin.to_path_buf()),
        ),
        None => ("wrangler".into(), None),
    };
    let mut cmd = Command::new(program);
    if let Some(bin) = bin_dir.and_then(|d| d.canonicalize().ok()) {
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{path}", bin.display()));
    }
    cmd.env("WRANGLER_SEND_METRICS", "false")
        .env("NO_UPDATE_NOTIFIER", "1");
    cmd
}
