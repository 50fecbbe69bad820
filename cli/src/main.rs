//! gatehouse-cli — what an operator needs to run bridge nodes against gatehouse: make a
//! node's key pair, upload its public half, register and unregister the node with
//! signed requests, and the operator's own commands against D1 (`admin`). cli/README.md
//! documents every command; `gatehouse-cli <command> --help` shows the same.
//!
//! The arguments are declared in `args.rs` (clap), the signed node requests are made in
//! `node.rs` with gatehouse-core's canonical messages (the code the worker verifies
//! with), HTTP and TLS live in `http.rs`, the organization-key upload in `org.rs`, the
//! onboarding walk-through in `demo.rs`, the D1 commands in `admin/`.
//!
//! Exit status: 0 done, 1 refused or failed (the reason on stderr), 2 a usage error
//! (clap's, which names the flag and suggests the closest one), 141 output piped to a
//! reader that stopped early (`| head`): the command stopped there, quietly (`out.rs`).

mod admin;
mod args;
mod demo;
mod http;
mod installer;
mod node;
mod org;
mod out;

use args::{Cli, Command};
use clap::{CommandFactory, Parser};
use http::report;
use out::outln;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gatehouse-cli: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Keygen(args) => {
            let (private_path, public_path) = node::write_key_pair(&args.out, args.bits)?;
            outln!("wrote {private_path} (private, keep it on the node) and {public_path} (upload to your organization)");
            Ok(())
        }
        Command::Sign(args) => {
            let key = node::private_key(&args.key.key)?;
            outln!("{}", node::register_body(&key, &args.fields)?);
            Ok(())
        }
        Command::Register(args) => {
            let key = node::private_key(&args.sign.key.key)?;
            let body = node::register_body(&key, &args.sign.fields)?;
            let answer =
                args.url
                    .client()?
                    .post_json(&endpoint(&args.url.url, "register"), None, &body)?;
            report("registration", answer, 200)
        }
        Command::Unregister(args) => {
            let key = node::private_key(&args.key.key)?;
            let body = node::unregister_body(&key, &args.ip, &args.signed)?;
            let answer = args.url.client()?.post_json(
                &endpoint(&args.url.url, "unregister"),
                None,
                &body,
            )?;
            report("unregistration", answer, 200)
        }
        Command::UploadKey(args) => org::upload_key(&args.url.client()?, &args),
        Command::Demo(args) => demo::run(&args.url.client()?, &args.url.url),
        Command::Admin(args) => admin::run(args),
        Command::Completions(args) => {
            // Made whole first: clap_complete panics on a failed write (a closed pipe).
            let mut script = Vec::new();
            clap_complete::generate(
                args.shell(),
                &mut Cli::command(),
                "gatehouse-cli",
                &mut script,
            );
            out::bytes(&script);
            Ok(())
        }
    }
}

/// `base/path`, whether or not the base URL ends with a slash.
fn endpoint(base: &str, path: &str) -> String {
    format!("{}/{path}", base.trim_end_matches('/'))
}
