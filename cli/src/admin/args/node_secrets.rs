//! The node-id commands' arguments (`admin purge-node-secrets`): what one network
//! registered through `/register_node_secret`, which takes no credentials.

use super::Place;
use clap::Args;

#[derive(Debug, Args)]
pub struct NetworkTarget {
    /// The network, as `admin stats` lists it under topNodeSecretNetworks (an IPv4
    /// /24, an IPv6 /48), or any address in it, e.g. 203.0.113.0/24 or
    /// 2001:db8:1::/48.
    #[arg(value_name = "NETWORK")]
    pub network: String,
    #[command(flatten)]
    pub place: Place,
}
