//! `gatehouse-cli admin purge-node-secrets`: removes the node ids one network
//! registered through `/register_node_secret` (migration 0029 records it), so that a
//! stranger who filled `NODE_SECRETS_MAX` or a network's share gives the room back at
//! once rather than in `NODE_REMOVE_AFTER_DAYS`. Their next registration is a first
//! one; node ids registered before 0029 have no network and are never taken.

use super::args::node_secrets::NetworkTarget;
use super::{askable, confirm, execute, part, print_json, sql};
use gatehouse_core::node_secret::registering_network;
use serde_json::json;

pub fn purge(t: &NetworkTarget) -> Result<(), String> {
    let network = checked_network(&t.network)?;
    let action = "remove a network's node ids";
    if t.place.remote && !t.place.yes {
        // What would go, before the question (one row of the counts, not a scan).
        askable(&t.place, action)?;
        let counted = execute(&t.place, &sql::node_secrets::node_secrets_of(&network))?;
        let held = part(&counted, 0)
            .first()
            .and_then(|r| r["nodeIds"].as_u64())
            .unwrap_or(0);
        eprintln!(
            "{network} holds {held} node ids. Honest nodes' in it go too: each is new \
             again, and whoever registers it first holds it."
        );
    }
    confirm(&t.place, action, &network)?;
    let results = execute(&t.place, &sql::node_secrets::purge_node_secrets(&network))?;
    let removed = part(&results, 0)
        .first()
        .and_then(|r| r["nodeIds"].as_u64())
        .unwrap_or(0);
    print_json(&json!({"network": network, "nodeIdsRemoved": removed}));
    Ok(())
}

/// The network as the worker records it: an address, or a network written as the
/// worker writes it, gives its /24 (IPv4) or /48 (IPv6); another prefix is refused.
fn checked_network(arg: &str) -> Result<String, String> {
    let (address, prefix) = match arg.trim().split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (arg.trim(), None),
    };
    let network = registering_network(address)
        .ok_or_else(|| format!("{arg:?} is not an IP address or network"))?;
    match prefix {
        Some(prefix) if !network.ends_with(&format!("/{prefix}")) => Err(format!(
            "{arg:?}: node ids are counted by IPv4 /24 and IPv6 /48 (this one's is {network})"
        )),
        _ => Ok(network),
    }
}

#[cfg(test)]
mod tests {
    use super::checked_network;

    #[test]
    fn a_network_is_written_as_the_worker_records_it() {
        assert_eq!(checked_network("203.0.113.0/24").unwrap(), "203.0.113.0/24");
        assert_eq!(checked_network("203.0.113.77").unwrap(), "203.0.113.0/24");
        assert_eq!(
            checked_network("2001:DB8:1::/48").unwrap(),
            "2001:db8:1::/48"
        );
        assert_eq!(
            checked_network("2001:db8:1:2::3").unwrap(),
            "2001:db8:1::/48"
        );
        assert!(checked_network("203.0.113.0/16").is_err());
        assert!(checked_network("2001:db8::/32").is_err());
        assert!(checked_network("spam.example").is_err());
        assert!(checked_network("'; DROP TABLE node_secrets; --").is_err());
    }
}
