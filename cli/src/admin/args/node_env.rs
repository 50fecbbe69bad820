//! The node-env commands' arguments (`admin node-env-*`): an organization's sealed
//! service environments and the rotation of the key that seals them.

use super::Place;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct NodeEnvTarget {
    /// The organization's id, e.g. 25c4d363-3ac7-4427-954b-187a3b6a7456.
    #[arg(value_name = "ORG_ID")]
    pub org: String,
    /// The service: s3, gcs or blob, e.g. s3.
    #[arg(value_name = "SERVICE")]
    pub service: String,
    #[command(flatten)]
    pub place: Place,
}

// The keys' value names are their environment variables': clap's error for a missing
// one names only the flag and its value (`--node-env-key <NODE_ENV_KEY>`), and so says
// where else the key may come from.
#[derive(Debug, Args)]
pub struct NodeEnvSetArgs {
    #[command(flatten)]
    pub target: NodeEnvTarget,
    /// The env file to store (text, at most 32 KiB), e.g. --file s3.env.
    #[arg(long, value_name = "FILE")]
    pub file: PathBuf,
    /// The worker's NODE_ENV_KEY (64 hex digits): the same key, or the worker cannot
    /// open what this stores (--url checks it). Read from the environment, never
    /// echoed, e.g. NODE_ENV_KEY=$(grep '^NODE_ENV_KEY=' .dev.vars | cut -d= -f2).
    #[arg(
        long,
        env = "NODE_ENV_KEY",
        hide_env_values = true,
        value_name = "NODE_ENV_KEY"
    )]
    pub node_env_key: String,
    #[command(flatten)]
    pub worker: WorkerKeyCheck,
}

/// Where a command that seals asks the worker which NODE_ENV_KEY it holds.
#[derive(Debug, Args)]
#[group(skip)]
pub struct WorkerKeyCheck {
    /// The worker's base URL. Before writing anything, its GET /health must name the
    /// NODE_ENV_KEY given here as the worker's own (keyIds.nodeEnv), so that nothing is
    /// sealed under a key the worker does not open, e.g. --url
    /// https://gatehouse.acme-storage.net or --url http://127.0.0.1:8787.
    #[arg(long, required_unless_present = "no_worker_check")]
    pub url: Option<String>,
    /// Trust only the CA certificates in this PEM file for an https:// --url, e.g.
    /// --ca-cert ./ca.pem. Also read from GATEHOUSE_CA_CERT.
    #[arg(long, value_name = "FILE", env = "GATEHOUSE_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// Seal without asking the worker (it cannot be reached from here): NODE_ENV_KEY
    /// must then be the worker's current key, which nothing checks, e.g.
    /// --no-worker-check.
    #[arg(long, conflicts_with = "url")]
    pub no_worker_check: bool,
}

#[derive(Debug, Args)]
pub struct NodeEnvResealArgs {
    #[command(flatten)]
    pub place: Place,
    /// The new NODE_ENV_KEY (64 hex digits), the one rows are sealed under: the
    /// worker's current key (--url checks it). Read from the environment, never
    /// echoed, e.g. NODE_ENV_KEY=$(openssl rand -hex 32) once it is the worker's.
    #[arg(
        long,
        env = "NODE_ENV_KEY",
        hide_env_values = true,
        value_name = "NODE_ENV_KEY"
    )]
    pub node_env_key: String,
    /// The NODE_ENV_KEY being retired (64 hex digits), which rows still sealed under it
    /// open with. Read from the environment, never echoed, e.g.
    /// NODE_ENV_KEY_PREVIOUS=<the worker's NODE_ENV_KEY_PREVIOUS>.
    #[arg(
        long,
        env = "NODE_ENV_KEY_PREVIOUS",
        hide_env_values = true,
        value_name = "NODE_ENV_KEY_PREVIOUS"
    )]
    pub previous_node_env_key: String,
    #[command(flatten)]
    pub worker: WorkerKeyCheck,
}
