//! `gatehouse-cli admin …`'s command line (clap). Every command runs against one
//! database, named by `--local` or `--remote`: there is no default, so an operator
//! cannot ban an organization in production while meaning to try it locally.

use clap::{ArgGroup, Args, Subcommand};
use std::path::PathBuf;

mod domain_block;
mod node_env;
pub mod node_secrets;
pub use domain_block::*;
pub use node_env::*;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  CLOUDFLARE_ENV=production gatehouse-cli admin ban ORG_ID --remote\n  gatehouse-cli admin find-org ada@acme.io --local\n\nWith --remote, set CLOUDFLARE_ENV=production: wrangler then uses the database [env.production]\nnames; without it, the top-level (local-only) configuration, whose database id is a placeholder.\n\nOutside the project directory, set WRANGLER to the project's wrangler and pass --config:\n  CLOUDFLARE_ENV=production WRANGLER=~/gatehouse/node_modules/.bin/wrangler \\\n    gatehouse-cli admin show-org ORG_ID --remote --config ~/gatehouse/wrangler.toml"
)]
pub struct AdminArgs {
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Ban an organization: its registrations and its members' writes are refused at once.
    #[command(
        after_help = "Example:\n  CLOUDFLARE_ENV=production gatehouse-cli admin ban 25c4d363-3ac7-4427-954b-187a3b6a7456 --remote"
    )]
    Ban(OrgTarget),
    /// Lift a ban.
    #[command(
        after_help = "Example:\n  CLOUDFLARE_ENV=production gatehouse-cli admin unban 25c4d363-3ac7-4427-954b-187a3b6a7456 --remote"
    )]
    Unban(OrgTarget),
    /// Mark an organization as a network provider: its fresh nodes appear in GET /node.
    #[command(
        after_help = "Example:\n  CLOUDFLARE_ENV=production gatehouse-cli admin mark-provider 25c4d363-3ac7-4427-954b-187a3b6a7456 --remote"
    )]
    MarkProvider(OrgTarget),
    /// Take the network-provider mark away.
    #[command(
        after_help = "Example:\n  CLOUDFLARE_ENV=production gatehouse-cli admin unmark-provider 25c4d363-3ac7-4427-954b-187a3b6a7456 --remote"
    )]
    UnmarkProvider(OrgTarget),
    /// An organization as JSON: itself, its members (with emails), keys, nodes and
    /// trial; times in RFC 3339.
    #[command(
        after_help = "Example:\n  gatehouse-cli admin show-org 25c4d363-3ac7-4427-954b-187a3b6a7456 --local | jq .members"
    )]
    ShowOrg(OrgTarget),
    /// Every audit entry (keys added and revoked, environments set and deleted, roles
    /// set, members removed), newest first, with the actor's email; times in RFC 3339.
    #[command(
        after_help = "Example:\n  CLOUDFLARE_ENV=production gatehouse-cli admin key-audit --org 25c4d363-3ac7-4427-954b-187a3b6a7456 --limit 20 --remote"
    )]
    KeyAudit(KeyAuditArgs),
    /// The organizations a person belongs to (by their email), the one claiming the
    /// email's domain, and the block refusing sign-ups there, if any.
    #[command(
        after_help = "Example:\n  CLOUDFLARE_ENV=production gatehouse-cli admin find-org ada@acme.io --remote"
    )]
    FindOrg(FindOrgArgs),
    /// Every organization's node at an address (as a node registers it; an
    /// IPv4-mapped IPv6 address finds its IPv4 node), most recently seen first: who an
    /// abuse report or a node operator's complaint about an address is about.
    #[command(
        after_help = "Example:\n  CLOUDFLARE_ENV=production gatehouse-cli admin find-node 203.0.113.7 --remote"
    )]
    FindNode(FindNodeArgs),
    /// Rows per table (with --bytes, the bytes of their values), the database's size
    /// (what D1 reports; its limit is 10 GB), the domains with the most accounts and
    /// the networks with the most node ids: docs/operations.md, "Size".
    #[command(
        after_help = "Example:\n  CLOUDFLARE_ENV=production gatehouse-cli admin stats --remote\n  CLOUDFLARE_ENV=production gatehouse-cli admin stats --remote --bytes"
    )]
    Stats(StatsArgs),
    /// Nodes not seen for NODE_OFFLINE_AFTER_SECONDS (listed OFFLINE), least recently
    /// seen first, with when the scheduled maintenance removes each.
    #[command(
        after_help = "Example:\n  CLOUDFLARE_ENV=production gatehouse-cli admin stale-nodes --remote --offline-after-seconds 1800 --remove-after-days 30"
    )]
    StaleNodes(StaleNodesArgs),

    /// Set (or replace) one of an organization's service environments (the env file its
    /// nodes' installer fetches with POST /secrets), sealed under NODE_ENV_KEY; audited
    /// with no user (ENV_SET).
    #[command(
        after_help = "Example:\n  NODE_ENV_KEY=$(grep '^NODE_ENV_KEY=' .dev.vars | cut -d= -f2) \\\n    gatehouse-cli admin node-env-set 25c4d363-3ac7-4427-954b-187a3b6a7456 s3 --file s3.env --local \\\n    --url http://127.0.0.1:8787"
    )]
    NodeEnvSet(NodeEnvSetArgs),
    /// Which services of an organization have an environment (never the contents).
    #[command(
        after_help = "Example:\n  CLOUDFLARE_ENV=production gatehouse-cli admin node-env-list 25c4d363-3ac7-4427-954b-187a3b6a7456 --remote"
    )]
    NodeEnvList(OrgTarget),
    /// Remove one of an organization's service environments; audited (ENV_DELETE).
    #[command(
        after_help = "Example:\n  CLOUDFLARE_ENV=production gatehouse-cli admin node-env-delete 25c4d363-3ac7-4427-954b-187a3b6a7456 blob --remote"
    )]
    NodeEnvDelete(NodeEnvTarget),
    /// Seal every service environment again under NODE_ENV_KEY: the last step of
    /// rotating it, once the worker runs with the new key and the old one as
    /// NODE_ENV_KEY_PREVIOUS (docs/deploying.md, "Rotating NODE_ENV_KEY"). Rows already under
    /// the new key are left; rows under neither are listed (set them again). Contents
    /// are unchanged, so nothing is audited.
    #[command(
        after_help = "Example:\n  CLOUDFLARE_ENV=production NODE_ENV_KEY=<new> NODE_ENV_KEY_PREVIOUS=<old> \\\n    gatehouse-cli admin node-env-reseal --remote --url https://gatehouse.acme-storage.net"
    )]
    NodeEnvReseal(NodeEnvResealArgs),

    /// Revoke one of an organization's keys at once (a leaked private key, an account
    /// taken over): registrations it signs are refused from the next request on;
    /// audited with no user (REVOKE). The organization's people can do the same with
    /// DELETE /organization/{idOrg}/key/{keyId}.
    #[command(
        after_help = "Example:\n  CLOUDFLARE_ENV=production gatehouse-cli admin revoke-key 25c4d363-3ac7-4427-954b-187a3b6a7456 0b9e6a4e-7f0e-4d55-9a51-0c3d2f1e8b7a --remote"
    )]
    RevokeKey(KeyTarget),
    /// End every sign-in of a person (an account taken over, a stolen device) with the
    /// write a password reset makes: their refresh tokens answer SESSION_ENDED and their
    /// access tokens stop at the next request. Unlike a reset it keeps the password and
    /// the login counters and known networks: a thief who knows the password can sign
    /// in again, so have the person reset it. Nothing is audited; the output says how
    /// many sign-ins ended.
    #[command(
        after_help = "Example:\n  CLOUDFLARE_ENV=production gatehouse-cli admin end-sign-ins ada@acme.io --remote"
    )]
    EndSignIns(FindOrgArgs),
    /// Erase a person's account on their request: its sign-ins, links, login counters
    /// and known networks; its memberships (an organization whose last verified OWNER
    /// it was passes the role to another member: verified first, an ADMINISTRATOR
    /// before a MEMBER, the longest-standing first); and each organization
    /// it is the only member of, with that organization's keys, nodes, service
    /// environments, trial and audit. Audit entries of organizations that stay keep the
    /// account's id, whose row then holds nothing personal. Prints the plan first;
    /// --dry-run stops there.
    #[command(
        after_help = "Examples:\n  CLOUDFLARE_ENV=production gatehouse-cli admin delete-account ada@acme.io --remote --dry-run\n  CLOUDFLARE_ENV=production gatehouse-cli admin delete-account ada@acme.io --remote"
    )]
    DeleteAccount(DeleteAccountArgs),
    /// Erase every account whose address is at a domain (with --including-subdomains,
    /// at every domain under it too), as
    /// delete-account erases one: for a domain whose every address reaches one script
    /// (a catch-all) that signed up and verified accounts in bulk. The organizations
    /// only they belong to go with their keys, nodes, environments, trials and audit;
    /// an organization with members elsewhere stays, its OWNER role passed on. A
    /// free-mail provider's domain is refused (its people are strangers to each other),
    /// and an account whose own domain is one is never taken.
    /// Prints the plan first (--dry-run stops there), then erases the accounts in
    /// calls of --per-call accounts each, saying how far it got; run it again to
    /// finish one that stopped.
    #[command(
        after_help = "Examples:\n  CLOUDFLARE_ENV=production gatehouse-cli admin delete-accounts-at spam.example --remote --dry-run\n  CLOUDFLARE_ENV=production gatehouse-cli admin delete-accounts-at spam.example --remote\n  CLOUDFLARE_ENV=production gatehouse-cli admin delete-accounts-at spam.example --including-subdomains --remote"
    )]
    DeleteAccountsAt(DeleteAccountsAtArgs),
    /// Refuse sign-ups with an address at DOMAIN or any of its subdomains (403
    /// FORBIDDEN), from now on. Accounts already there are kept and sign in as before:
    /// delete-accounts-at erases them (--including-subdomains for the subdomains').
    /// Block first, then erase.
    #[command(
        after_help = "Example:\n  CLOUDFLARE_ENV=production gatehouse-cli admin block-domain spam.example --remote"
    )]
    BlockDomain(DomainTarget),
    /// Accept sign-ups at DOMAIN (and its subdomains) again.
    #[command(
        after_help = "Example:\n  CLOUDFLARE_ENV=production gatehouse-cli admin unblock-domain spam.example --remote"
    )]
    UnblockDomain(DomainTarget),
    /// Remove every node id NETWORK (an IPv4 /24, an IPv6 /48) registered through
    /// /register_node_secret, giving its room back at once (NODE_SECRETS_MAX, and the
    /// network's share, NODE_SECRETS_PER_NETWORK): a stranger's, as admin stats'
    /// topNodeSecretNetworks shows them. Their next registration is a first one.
    #[command(
        after_help = "Example:\n  CLOUDFLARE_ENV=production gatehouse-cli admin purge-node-secrets 2001:db8:1::/48 --remote"
    )]
    PurgeNodeSecrets(node_secrets::NetworkTarget),
    /// The blocked domains, as JSON, most recently blocked first.
    #[command(
        after_help = "Example:\n  CLOUDFLARE_ENV=production gatehouse-cli admin blocked-domains --remote"
    )]
    BlockedDomains(BlockedDomainsArgs),
    /// Everything stored about a person, as JSON (their request to see it): the
    /// account, memberships, sign-ins with their devices, known networks, login
    /// failure counters, verification and reset links, and the audit entries of what
    /// they did. Never a password's or token's hash.
    #[command(
        after_help = "Example:\n  CLOUDFLARE_ENV=production gatehouse-cli admin export-account ada@acme.io --remote > ada.json"
    )]
    ExportAccount(FindOrgArgs),
    /// Give a member of an organization another role (OWNER, ADMINISTRATOR or MEMBER),
    /// from their next request on. An organization keeps at least one verified OWNER
    /// (only they can act): the last one is not demoted.
    #[command(
        after_help = "Example:\n  CLOUDFLARE_ENV=production gatehouse-cli admin set-role 25c4d363-3ac7-4427-954b-187a3b6a7456 bob@acme.io ADMINISTRATOR --remote"
    )]
    SetRole(SetRoleArgs),
}

#[derive(Debug, Args)]
pub struct SetRoleArgs {
    /// The organization's id, e.g. 25c4d363-3ac7-4427-954b-187a3b6a7456.
    #[arg(value_name = "ORG_ID")]
    pub org: String,
    /// The member's email (any case), e.g. bob@acme.io.
    #[arg(value_name = "EMAIL")]
    pub email: String,
    /// The new role: OWNER and ADMINISTRATOR manage keys, nodes and environments;
    /// MEMBER reads them, e.g. ADMINISTRATOR.
    #[arg(value_name = "ROLE", value_parser = ["OWNER", "ADMINISTRATOR", "MEMBER"])]
    pub role: String,
    #[command(flatten)]
    pub place: Place,
}

#[derive(Debug, Args)]
pub struct DeleteAccountArgs {
    /// The person's email (any case), e.g. ada@acme.io.
    #[arg(value_name = "EMAIL")]
    pub email: String,
    #[command(flatten)]
    pub erasure: ErasureFlags,
}

/// What delete-account and delete-accounts-at share.
#[derive(Debug, Args)]
pub struct ErasureFlags {
    /// Print what would be deleted and change nothing, e.g. --dry-run.
    #[arg(long)]
    pub dry_run: bool,
    /// Also when an organization that goes with the accounts is banned: the ban goes
    /// with the organization and the domain it claimed is freed (refused without
    /// this), e.g. --including-banned.
    #[arg(long)]
    pub including_banned: bool,
    #[command(flatten)]
    pub place: Place,
}

#[derive(Debug, Args)]
pub struct DeleteAccountsAtArgs {
    /// The domain (any case), e.g. spam.example: the accounts at
    /// anyone@spam.example, not at anyone@mail.spam.example (unless
    /// --including-subdomains).
    #[arg(value_name = "DOMAIN")]
    pub domain: String,
    /// Also the accounts at every domain under DOMAIN (anyone@x.spam.example: a
    /// wildcard catch-all's script signs up at made-up subdomains), e.g.
    /// --including-subdomains.
    #[arg(long)]
    pub including_subdomains: bool,
    /// Accounts erased by each `wrangler d1 execute` (their ids are in its SQL, which
    /// one command line carries: at most 50), e.g. --per-call 20.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=50))]
    pub per_call: u16,
    #[command(flatten)]
    pub erasure: ErasureFlags,
}

#[derive(Debug, Args)]
pub struct KeyTarget {
    /// The organization's id, e.g. 25c4d363-3ac7-4427-954b-187a3b6a7456.
    #[arg(value_name = "ORG_ID")]
    pub org: String,
    /// The key's id (show-org lists them, key-audit names them), e.g.
    /// 0b9e6a4e-7f0e-4d55-9a51-0c3d2f1e8b7a.
    #[arg(value_name = "KEY_ID")]
    pub key: String,
    #[command(flatten)]
    pub place: Place,
}

/// Which database: wrangler's own flags. Exactly one of --local and --remote.
#[derive(Debug, Args)]
#[group(skip)]
#[command(group(ArgGroup::new("place").args(["local", "remote"]).required(true)))]
pub struct Place {
    /// The local D1 of `wrangler dev` (run from the project directory, or see
    /// --config), e.g. --local.
    #[arg(long)]
    pub local: bool,
    /// The deployed D1, with wrangler's own login (`wrangler login`). Set
    /// CLOUDFLARE_ENV=production too, so wrangler uses the database `[env.production]`
    /// names, not the top-level (local-only) placeholder, e.g.
    /// CLOUDFLARE_ENV=production gatehouse-cli admin stats --remote.
    #[arg(long)]
    pub remote: bool,
    /// With --local: the directory the worker keeps its local state in, when not
    /// .wrangler/state, e.g. --persist-to /tmp/gatehouse-state.
    #[arg(long, value_name = "DIR", conflicts_with = "remote")]
    pub persist_to: Option<PathBuf>,
    /// The wrangler configuration naming the D1 database (default: ./wrangler.toml),
    /// e.g. --config ~/gatehouse/wrangler.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// With --remote, a command that bans, revokes, ends sign-ins, deletes an account,
    /// sets a role, changes an environment, blocks a domain or purges a network's node
    /// ids asks you to type its target first; --yes skips that (needed without
    /// a terminal, e.g. in a script), e.g. --remote --yes.
    #[arg(long)]
    pub yes: bool,
}

impl Place {
    /// As arguments to `wrangler d1 execute`.
    pub fn wrangler_flags(&self) -> Vec<String> {
        let mut flags = vec![if self.local { "--local" } else { "--remote" }.to_owned()];
        for (flag, value) in [
            ("--persist-to", &self.persist_to),
            ("--config", &self.config),
        ] {
            if let Some(value) = value {
                flags.extend([flag.to_owned(), value.display().to_string()]);
            }
        }
        flags
    }
}

#[derive(Debug, Args)]
pub struct OrgTarget {
    /// The organization's id, e.g. 25c4d363-3ac7-4427-954b-187a3b6a7456 (find it with
    /// find-org).
    #[arg(value_name = "ORG_ID")]
    pub org: String,
    #[command(flatten)]
    pub place: Place,
}

#[derive(Debug, Args)]
pub struct KeyAuditArgs {
    /// Only this organization's entries, e.g. --org 25c4d363-3ac7-4427-954b-187a3b6a7456.
    #[arg(long, value_name = "ORG_ID")]
    pub org: Option<String>,
    /// At most this many entries, 1 to 10000, e.g. --limit 20.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: u32,
    #[command(flatten)]
    pub place: Place,
}

#[derive(Debug, Args)]
pub struct FindOrgArgs {
    /// A person's email (any case), e.g. ada@acme.io.
    #[arg(value_name = "EMAIL")]
    pub email: String,
    #[command(flatten)]
    pub place: Place,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Also the bytes each table's values take (payloadBytes): reads every row and
    /// column of the database on the primary, seconds per GB that heartbeats wait
    /// behind; the counts alone read each table's narrowest index; e.g. --remote
    /// --bytes.
    #[arg(long)]
    pub bytes: bool,
    #[command(flatten)]
    pub place: Place,
}

#[derive(Debug, Args)]
pub struct FindNodeArgs {
    /// The node's address, IPv4 or IPv6, e.g. 203.0.113.7.
    #[arg(value_name = "IP")]
    pub ip: String,
    #[command(flatten)]
    pub place: Place,
}

#[derive(Debug, Args)]
pub struct StaleNodesArgs {
    /// The worker's NODE_OFFLINE_AFTER_SECONDS (60 to 2592000), e.g. 1800.
    #[arg(long, default_value_t = 1800, value_parser = clap::value_parser!(u32).range(60..=2_592_000))]
    pub offline_after_seconds: u32,
    /// The worker's NODE_REMOVE_AFTER_DAYS (1 to 3650), e.g. 30.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub remove_after_days: u32,
    /// At most this many nodes, 1 to 10000, e.g. --limit 100.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: u32,
    #[command(flatten)]
    pub place: Place,
}
