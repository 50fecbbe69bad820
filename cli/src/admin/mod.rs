//! `gatehouse-cli admin …`: the operator's own commands (docs/operations.md).
//!
//! Each runs `wrangler d1 execute` against the local D1 of `wrangler dev` (`--local`,
//! with `--persist-to DIR` when the worker keeps its state elsewhere) or the deployed
//! database (`--remote`, with wrangler's own login), so it needs nothing but the
//! project's wrangler and works the same on both. The SQL is in `sql.rs`.

mod sql;

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};

pub const USAGE: &str = "  gatehouse-cli admin ban|unban ORG_ID (--local [--persist-to DIR] | --remote) [--config wrangler.toml]
  gatehouse-cli admin mark-provider|unmark-provider ORG_ID (--local | --remote) …
  gatehouse-cli admin show-org ORG_ID (--local | --remote) …
  gatehouse-cli admin key-audit [--org ORG_ID] [--limit N] (--local | --remote) …";

/// Where the statements run, as wrangler's flags.
struct Target {
    flags: Vec<String>,
}

pub fn run(args: &[String]) -> Result<(), String> {
    let (command, rest) = args
        .split_first()
        .ok_or_else(|| format!("usage:\n{USAGE}"))?;
    let (positional, target, options) = parse(rest)?;
    let org = || -> Result<&str, String> {
        let id = positional
            .first()
            .ok_or_else(|| format!("{command}: which organization? usage:\n{USAGE}"))?;
        sql::checked_id(id)
    };
    match command.as_str() {
        "ban" => update(
            &target,
            &sql::set_banned(org()?, true),
            org()?,
            "banned: its registrations and writes are refused from now on",
        ),
        "unban" => update(&target, &sql::set_banned(org()?, false), org()?, "unbanned"),
        "mark-provider" => update(
            &target,
            &sql::set_network_provider(org()?, true),
            org()?,
            "marked as a network provider: its fresh nodes are in GET /node",
        ),
        "unmark-provider" => update(
            &target,
            &sql::set_network_provider(org()?, false),
            org()?,
            "no longer a network provider",
        ),
        "show-org" => show_org(&target, org()?),
        "key-audit" => {
            let org = options.org.as_deref().map(sql::checked_id).transpose()?;
            let rows = execute(&target, &sql::key_audit(org, options.limit))?;
            print_json(&json!(rows.first().cloned().unwrap_or_default().rows));
            Ok(())
        }
        other => Err(format!("unknown admin command {other:?}; usage:\n{USAGE}")),
    }
}

#[derive(Default)]
struct Options {
    org: Option<String>,
    limit: u32,
}

fn parse(args: &[String]) -> Result<(Vec<String>, Target, Options), String> {
    let mut positional = Vec::new();
    let mut flags = Vec::new();
    let (mut local, mut remote) = (false, false);
    let mut options = Options {
        limit: 50,
        ..Options::default()
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--local" => local = true,
            "--remote" => remote = true,
            "--persist-to" => flags.extend(["--persist-to".to_owned(), value(arg)?]),
            "--config" => flags.extend(["--config".to_owned(), value(arg)?]),
            "--org" => options.org = Some(value(arg)?),
            "--limit" => {
                options.limit = value(arg)?
                    .parse()
                    .ok()
                    .filter(|n| (1..=10_000).contains(n))
                    .ok_or("--limit must be a number from 1 to 10000")?
            }
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            _ => positional.push(arg.clone()),
        }
    }
    let place = match (local, remote) {
        (true, false) => "--local",
        (false, true) => "--remote",
        _ => {
            return Err(
                "say where: --local (wrangler dev's D1) or --remote (the deployed one)".into(),
            )
        }
    };
    flags.insert(0, place.to_owned());
    Ok((positional, Target { flags }, options))
}

/// One statement's answer.
#[derive(Clone, Default)]
struct StatementResult {
    rows: Vec<Value>,
}

fn execute(target: &Target, sql: &str) -> Result<Vec<StatementResult>, String> {
    let out = wrangler()
        .args(["d1", "execute", "DB", "--json"])
        .args(&target.flags)
        .args(["--command", sql])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            format!("could not run wrangler ({e}); run from the project directory or set WRANGLER")
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

fn update(target: &Target, sql: &str, org: &str, done: &str) -> Result<(), String> {
    let results = execute(target, sql)?;
    if results.first().is_none_or(|r| r.rows.is_empty()) {
        return Err(format!("no organization {org:?}"));
    }
    println!("organization {org} {done}");
    Ok(())
}

fn show_org(target: &Target, org: &str) -> Result<(), String> {
    let results = execute(target, &sql::show_org(org))?;
    let part = |i: usize| results.get(i).map(|r| r.rows.clone()).unwrap_or_default();
    let Some(organization) = part(0).into_iter().next() else {
        return Err(format!("no organization {org:?}"));
    };
    print_json(&json!({
        "organization": organization,
        "members": part(1),
        "keys": part(2),
        "nodes": part(3),
        "trial": part(4).into_iter().next(),
    }));
    Ok(())
}

fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// The project's wrangler (`WRANGLER` overrides), with the project's Node first on
/// PATH: wrangler needs Node 22, which `make` installs into node_modules.
fn wrangler() -> Command {
    let local_bin = Path::new("node_modules/.bin");
    let program = std::env::var("WRANGLER").unwrap_or_else(|_| {
        if local_bin.join("wrangler").exists() {
            local_bin.join("wrangler").display().to_string()
        } else {
            "wrangler".to_owned()
        }
    });
    let mut cmd = Command::new(program);
    if let Ok(bin) = local_bin.canonicalize() {
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{path}", bin.display()));
    }
    cmd.env("WRANGLER_SEND_METRICS", "false")
        .env("NO_UPDATE_NOTIFIER", "1");
    cmd
}
