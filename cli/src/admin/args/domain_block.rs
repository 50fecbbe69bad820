//! The domain-block commands' arguments (`admin block-domain`, `unblock-domain`,
//! `blocked-domains`): sign-ups an operator refuses by the address's domain.

use super::Place;
use clap::Args;

#[derive(Debug, Args)]
pub struct DomainTarget {
    /// The domain (any case), e.g. spam.example: addresses at anyone@spam.example and
    /// at anyone@mail.spam.example alike.
    #[arg(value_name = "DOMAIN")]
    pub domain: String,
    #[command(flatten)]
    pub place: Place,
}

#[derive(Debug, Args)]
pub struct BlockedDomainsArgs {
    #[command(flatten)]
    pub place: Place,
}
