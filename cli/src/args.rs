//! The command line, declared once with clap's derive: the parser, `--help` on every
//! command, `--version`, "did you mean" for mistyped options and the shell completions
//! all come from these declarations, so they cannot drift apart. Every flag's doc says
//! what it is for and shows an example; a unit test below holds that.

use crate::admin::args::AdminArgs;
use crate::http::Client;
use crate::node::{parse_stamp, Stamp};
use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand};
use clap_complete::Shell;
use gatehouse_core::nodes::registration::MAX_NODE_SERVICES;
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  gatehouse-cli keygen --bits 3072 --out node
  gatehouse-cli register --url https://gatehouse.acme-storage.net --key node.key.pem \\
      --provider S3 --ip 203.0.113.7 --status active --region eu-west-1 --version 1.4.2 --id-org ORG_ID
  CLOUDFLARE_ENV=production gatehouse-cli admin show-org ORG_ID --remote

Exit status: 0 done; 1 refused or failed (the reason is on stderr); 2 a usage error.";

/// The operator CLI of gatehouse: node keys, signed node requests, organization keys,
/// and the operator's own commands against D1.
#[derive(Debug, Parser)]
#[command(name = "gatehouse-cli", version, after_help = EXAMPLES, arg_required_else_help = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a node's RSA key pair: NAME.key.pem (private, PKCS#8, mode 0600, stays on
    /// the node) and NAME.pub.pem (public, SPKI, uploaded to the organization).
    #[command(after_help = "Example:\n  gatehouse-cli keygen --bits 3072 --out node")]
    Keygen(KeygenArgs),
    /// Print the signed JSON body of POST /register (nothing is sent).
    #[command(
        after_help = "Example:\n  gatehouse-cli sign --key node.key.pem --provider S3 --ip 203.0.113.7 \\\n      --status active --region eu-west-1 --version 1.4.2 --id-org ORG_ID > body.json"
    )]
    Sign(SignArgs),
    /// Sign and POST a node's registration to URL/register. The answer's JSON goes to
    /// stdout, its HTTP status to stderr; exit 1 unless it is a 200.
    #[command(
        after_help = "Example:\n  gatehouse-cli register --url https://gatehouse.acme-storage.net --key node.key.pem \\\n      --provider S3 --ip 203.0.113.7 --status active --region eu-west-1 --version 1.4.2 --id-org ORG_ID | jq ."
    )]
    Register(RegisterArgs),
    /// Sign and POST a node's removal to URL/unregister (the node row goes). JSON to
    /// stdout, HTTP status to stderr; exit 1 unless it is a 200.
    #[command(
        after_help = "Example:\n  gatehouse-cli unregister --url https://gatehouse.acme-storage.net --key node.key.pem \\\n      --ip 203.0.113.7 --id-org ORG_ID"
    )]
    Unregister(UnregisterArgs),
    /// Upload a node's public key to an organization (POST /organization/{id}/key),
    /// signed in with --email (password from GATEHOUSE_PASSWORD or stdin) or --token.
    #[command(
        after_help = "Examples:\n  GATEHOUSE_PASSWORD=… gatehouse-cli upload-key --url https://gatehouse.acme-storage.net \\\n      --email ada@acme.io --public-key node.pub.pem\n  gatehouse-cli upload-key --url http://127.0.0.1:8787 --token \"$TOKEN\" --org ORG_ID --public-key node.pub.pem"
    )]
    UploadKey(UploadKeyArgs),
    /// The whole onboarding, step by step, against a local `wrangler dev` (it reads
    /// the verification email from the local email explorer).
    #[command(after_help = "Example:\n  gatehouse-cli demo --url http://127.0.0.1:8787")]
    Demo(DemoArgs),
    /// The operator's commands against D1 through `wrangler d1 execute`: the local
    /// database of `wrangler dev` (--local) or the deployed one (--remote).
    Admin(AdminArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  gatehouse-cli completions bash > ~/.local/share/bash-completion/completions/gatehouse-cli\n  gatehouse-cli completions zsh > ~/.zfunc/_gatehouse-cli\n  gatehouse-cli completions fish > ~/.config/fish/completions/gatehouse-cli.fish"
    )]
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Key size in bits: 2048, 3072 or 4096, e.g. --bits 3072.
    // The listed values are numbers, so the parse after them cannot fail.
    #[arg(long, default_value_t = 2048, value_parser = clap::builder::PossibleValuesParser::new(["2048", "3072", "4096"]).map(|s| s.parse::<usize>().unwrap_or(2048)))]
    pub bits: usize,
    /// File name stem: writes NAME.key.pem and NAME.pub.pem (never overwrites a
    /// private key), e.g. --out node.
    #[arg(long, value_name = "NAME")]
    pub out: String,
}

/// What the node's private key signs: the fields of POST /register.
#[derive(Debug, Args, Clone)]
pub struct NodeFields {
    /// The node's cloud: S3, GCS or AZURE (AWS and GCP are stored as S3 and GCS),
    /// e.g. --provider S3.
    #[arg(long, value_parser = ["S3", "GCS", "AZURE", "AWS", "GCP"])]
    pub provider: String,
    /// The node's public address, IPv4 or IPv6, e.g. --ip 203.0.113.7.
    #[arg(long)]
    pub ip: String,
    /// The node's state: 1 to 32 letters, digits, - or _, e.g. --status active.
    #[arg(long)]
    pub status: String,
    /// The node's region, e.g. --region eu-west-1.
    #[arg(long)]
    pub region: String,
    /// The node software's version, e.g. --version 1.4.2.
    #[arg(long)]
    pub version: String,
    #[command(flatten)]
    pub signed: SignedExtras,
    /// The services the node offers, a bitmask: 1 storage, 2 AI LLM, 4 chat (the
    /// server's nodeServices; signed when given, 1 when not), e.g. --node-services 5.
    #[arg(long, value_name = "MASK", value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_NODE_SERVICES)))]
    pub node_services: Option<u32>,
}

/// The organization and timestamp every signed node request carries.
#[derive(Debug, Args, Clone)]
pub struct SignedExtras {
    /// The node's organization; a node's first registration must name it,
    /// e.g. --id-org 25c4d363-3ac7-4427-954b-187a3b6a7456.
    #[arg(long, value_name = "ORG_ID")]
    pub id_org: Option<String>,
    /// The signed time (default: now, RFC 3339): RFC 3339 text, e.g. --timestamp
    /// 2024-01-15T10:30:00.000Z, or Unix seconds or milliseconds, e.g. --timestamp
    /// 1700000000 (sent as a JSON integer). The worker accepts ±300 s around its clock.
    #[arg(long, value_name = "TIME", value_parser = parse_stamp)]
    pub timestamp: Option<Stamp>,
}

#[derive(Debug, Args)]
pub struct KeyFile {
    /// The node's PRIVATE key (NAME.key.pem from keygen): the node signs with it, the
    /// worker verifies with the public half uploaded to the organization,
    /// e.g. --key node.key.pem.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    #[command(flatten)]
    pub key: KeyFile,
    #[command(flatten)]
    pub fields: NodeFields,
}

#[derive(Debug, Args)]
pub struct Url {
    /// The worker's base URL, http:// or https://, e.g. --url
    /// https://gatehouse.acme-storage.net or --url http://127.0.0.1:8787.
    #[arg(long)]
    pub url: String,
    /// Trust only the CA certificates in this PEM file for https:// URLs, instead of the
    /// built-in Mozilla roots (a private CA, a TLS-inspecting proxy, a local test
    /// server), e.g. --ca-cert ./ca.pem. Also read from GATEHOUSE_CA_CERT.
    #[arg(long, value_name = "FILE", env = "GATEHOUSE_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
}

impl Url {
    pub fn client(&self) -> Result<Client, String> {
        Client::new(self.ca_cert.as_deref())
    }
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    pub url: Url,
    #[command(flatten)]
    pub sign: SignArgs,
}

#[derive(Debug, Args)]
pub struct UnregisterArgs {
    #[command(flatten)]
    pub url: Url,
    #[command(flatten)]
    pub key: KeyFile,
    /// The node's address as it registered, e.g. --ip 203.0.113.7.
    #[arg(long)]
    pub ip: String,
    #[command(flatten)]
    pub signed: SignedExtras,
}

#[derive(Debug, Args)]
pub struct UploadKeyArgs {
    #[command(flatten)]
    pub url: Url,
    /// The node's PUBLIC key (NAME.pub.pem from keygen; the private half never leaves
    /// the node), e.g. --public-key node.pub.pem.
    #[arg(long, value_name = "FILE")]
    pub public_key: PathBuf,
    /// The organization to add it to (default: the signed-in user's own),
    /// e.g. --org 25c4d363-3ac7-4427-954b-187a3b6a7456.
    #[arg(long, value_name = "ORG_ID")]
    pub org: Option<String>,
    /// Sign in as this user (POST /user/login); the password is read from
    /// GATEHOUSE_PASSWORD, else from the first line of stdin, e.g. --email ada@acme.io.
    #[arg(long, conflicts_with = "token", required_unless_present = "token")]
    pub email: Option<String>,
    /// An access token instead of signing in (the accessToken of POST /user/login),
    /// e.g. --token "$TOKEN". Also read from GATEHOUSE_TOKEN.
    #[arg(long, env = "GATEHOUSE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub url: Url,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh or fish, e.g. completions zsh.
    #[arg(value_parser = ["bash", "zsh", "fish"])]
    pub shell: String,
}

impl CompletionsArgs {
    pub fn shell(&self) -> Shell {
        match self.shell.as_str() {
            "zsh" => Shell::Zsh,
            "fish" => Shell::Fish,
            _ => Shell::Bash,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_declaration_is_consistent() {
        Cli::command().debug_assert();
    }

    /// Every command shows an example, and every flag says what it is for with one.
    #[test]
    fn every_command_has_an_example_and_every_flag_one_too() {
        fn walk(cmd: &clap::Command, path: &str) {
            let path = format!("{path} {}", cmd.get_name());
            if !cmd.has_subcommands() {
                let after = cmd.get_after_help().map(|s| s.to_string());
                assert!(
                    after.is_some_and(|s| s.contains("gatehouse-cli")),
                    "{path}: no example"
                );
            }
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                let help = arg.get_help().map(|s| s.to_string()).unwrap_or_default();
                assert!(help.contains("e.g."), "{path} {id}: no example in {help:?}");
            }
            for sub in cmd.get_subcommands() {
                if sub.get_name() != "help" {
                    walk(sub, &path);
                }
            }
        }
        walk(&Cli::command(), "");
    }

    /// Every example parses as it is printed: an operator copies them. Values given in
    /// the environment (`NODE_ENV_KEY=… gatehouse-cli …`) count as given.
    #[test]
    fn every_example_parses() {
        fn examples(cmd: &clap::Command, out: &mut Vec<String>) {
            if let Some(after) = cmd.get_after_help() {
                let joined = after.to_string().replace("\\\n", " ");
                out.extend(
                    joined
                        .lines()
                        .filter(|l| l.contains("gatehouse-cli "))
                        .map(str::to_owned),
                );
            }
            cmd.get_subcommands().for_each(|sub| examples(sub, out));
        }
        let mut lines = Vec::new();
        examples(&Cli::command(), &mut lines);
        assert!(lines.len() > 25, "{lines:?}");
        for line in lines {
            let (prefix, command) = line.split_once("gatehouse-cli ").unwrap();
            let command = command.split(['|', '>']).next().unwrap();
            let mut argv: Vec<String> = std::iter::once("gatehouse-cli")
                .chain(command.split_whitespace())
                .map(|t| t.trim_matches('"').to_owned())
                .collect();
            // The command the example reaches, for the flags its environment gives.
            let root = Cli::command();
            let mut leaf = &root;
            for word in &argv[1..] {
                match leaf.find_subcommand(word) {
                    Some(sub) => leaf = sub,
                    None => break,
                }
            }
            for name in prefix.split_whitespace().filter_map(|t| t.split_once('=')) {
                let given = leaf
                    .get_arguments()
                    .find(|a| a.get_env().is_some_and(|e| e == name.0));
                if let Some(long) = given.and_then(|a| a.get_long()) {
                    argv.extend([format!("--{long}"), "from-the-environment".to_owned()]);
                }
            }
            if let Err(e) = Cli::try_parse_from(&argv) {
                panic!("{line}\n{e}");
            }
        }
    }
}
