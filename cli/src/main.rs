//! gatehouse-cli — what an operator needs to register a bridge node:
//!
//!   gatehouse-cli keygen [--bits 2048|3072|4096] --out NAME
//!       writes NAME.key.pem (PKCS#8, private, mode 0600) and NAME.pub.pem (SPKI)
//!   gatehouse-cli sign --key NAME.key.pem FIELDS
//!       prints the signed JSON body for POST /register (timestamp = now)
//!   gatehouse-cli register --url URL --key NAME.key.pem FIELDS
//!       signs, POSTs to URL/register, prints the answer; exit 1 unless it is a 200
//!   gatehouse-cli demo --url URL
//!       the whole onboarding against a local `wrangler dev` (see demo.rs)
//!   gatehouse-cli admin ban|unban|mark-provider|unmark-provider|show-org|key-audit …
//!       the operator's commands against the local or deployed D1 (see admin/)
//!
//! FIELDS: --provider S3|GCS|AZURE --ip IP --status S --region R --version V
//!         [--id-org ORG] [--timestamp RFC3339]
//!
//! The canonical message comes from gatehouse-core, the same code the worker verifies
//! with, so the two cannot disagree.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_core::nodes::registration::SignedFields;
use gatehouse_core::time::format_rfc3339_ms;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::ExitCode;

mod admin;
mod demo;
use std::time::{SystemTime, UNIX_EPOCH};

const USAGE: &str = "usage:
  gatehouse-cli keygen [--bits 2048|3072|4096] --out NAME
  gatehouse-cli sign --key KEY.pem --provider P --ip IP --status S --region R --version V [--id-org ORG] [--timestamp T]
  gatehouse-cli register --url URL --key KEY.pem --provider P --ip IP --status S --region R --version V [--id-org ORG]
  gatehouse-cli demo --url URL";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gatehouse-cli: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let (command, rest) = args.split_first().ok_or(USAGE)?;
    if command == "admin" {
        return admin::run(rest);
    }
    let flags = parse_flags(rest)?;
    match command.as_str() {
        "keygen" => keygen(&flags),
        "sign" => {
            println!("{}", signed_body(&flags)?);
            Ok(())
        }
        "register" => register(&flags),
        "demo" => demo::run(required(&flags, "url")?),
        "-h" | "--help" | "help" => {
            println!("{USAGE}\n{}", admin::USAGE);
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}

fn parse_flags(args: &[String]) -> Result<HashMap<String, String>, String> {
    let mut flags = HashMap::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let name = flag
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {flag:?}\n{USAGE}"))?;
        let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
        flags.insert(name.to_owned(), value.clone());
    }
    Ok(flags)
}

fn required<'a>(flags: &'a HashMap<String, String>, name: &str) -> Result<&'a str, String> {
    flags
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| format!("missing --{name}\n{USAGE}"))
}

fn keygen(flags: &HashMap<String, String>) -> Result<(), String> {
    let bits: usize = flags
        .get("bits")
        .map_or(Ok(2048), |b| b.parse())
        .map_err(|_| "--bits must be a number")?;
    let (private_path, public_path) = write_key_pair(required(flags, "out")?, bits)?;
    println!("wrote {private_path} (private, keep it on the node) and {public_path} (upload to your organization)");
    Ok(())
}

/// Generates a key pair into `<out>.key.pem` (0600) and `<out>.pub.pem`.
fn write_key_pair(out: &str, bits: usize) -> Result<(String, String), String> {
    if ![2048, 3072, 4096].contains(&bits) {
        return Err("--bits must be 2048, 3072 or 4096".into());
    }
    let key = PrivateKey::generate(bits).map_err(|e| e.to_string())?;
    let private_path = format!("{out}.key.pem");
    let public_path = format!("{out}.pub.pem");
    write_private(&private_path, &key.to_pkcs8_pem())?;
    std::fs::write(&public_path, key.public_key().to_spki_pem())
        .map_err(|e| format!("{public_path}: {e}"))?;
    Ok((private_path, public_path))
}

fn write_private(path: &str, pem: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{path}: {e}"))?;
    file.write_all(pem.as_bytes())
        .map_err(|e| format!("{path}: {e}"))
}

fn signed_body(flags: &HashMap<String, String>) -> Result<Value, String> {
    let key_path = required(flags, "key")?;
    let pem = std::fs::read_to_string(key_path).map_err(|e| format!("{key_path}: {e}"))?;
    let key = PrivateKey::from_pem(&pem).map_err(|e| format!("{key_path}: {e}"))?;
    let timestamp = match flags.get("timestamp") {
        Some(t) => t.clone(),
        None => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_err(|e| e.to_string())?;
            format_rfc3339_ms(now.as_millis() as i64)
        }
    };
    let fields = SignedFields {
        provider: required(flags, "provider")?.to_owned(),
        ip: required(flags, "ip")?.to_owned(),
        status: required(flags, "status")?.to_owned(),
        region: required(flags, "region")?.to_owned(),
        version: required(flags, "version")?.to_owned(),
        timestamp,
        id_org: flags.get("id-org").cloned(),
        node_services: None,
    };
    let signature = STANDARD.encode(key.sign(fields.canonical_message().as_bytes()));
    let mut body = json!({
        "provider": fields.provider, "ip": fields.ip, "status": fields.status, "region": fields.region,
        "version": fields.version, "timestamp": fields.timestamp, "signature": signature,
    });
    if let Some(org) = fields.id_org {
        body["id_org"] = Value::String(org);
    }
    Ok(body)
}

fn register(flags: &HashMap<String, String>) -> Result<(), String> {
    let url = format!("{}/register", required(flags, "url")?.trim_end_matches('/'));
    let (status, text) = post_json(&url, None, &signed_body(flags)?)?;
    println!("{status} {text}");
    if status == 200 {
        Ok(())
    } else {
        Err(format!("registration refused ({status})"))
    }
}

/// POSTs JSON (with an optional bearer token); any HTTP status is an answer.
fn post_json(url: &str, bearer: Option<&str>, body: &Value) -> Result<(u16, String), String> {
    let mut request = ureq::post(url);
    if let Some(token) = bearer {
        request = request.set("authorization", &format!("Bearer {token}"));
    }
    answer(url, request.send_json(body))
}

/// POSTs an HTML form's fields (already URL-encoded), as a browser does.
fn post_form(url: &str, form: &str) -> Result<(u16, String), String> {
    let request = ureq::post(url).set("content-type", "application/x-www-form-urlencoded");
    answer(url, request.send_string(form))
}

fn get(url: &str, bearer: Option<&str>) -> Result<(u16, String), String> {
    let mut request = ureq::get(url);
    if let Some(token) = bearer {
        request = request.set("authorization", &format!("Bearer {token}"));
    }
    answer(url, request.call())
}

fn answer(url: &str, result: Result<ureq::Response, ureq::Error>) -> Result<(u16, String), String> {
    let response = match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(format!("{url}: {e}")),
    };
    let status = response.status();
    Ok((status, response.into_string().map_err(|e| e.to_string())?))
}
