//! The warm path of `POST /register`: one round trip to the D1 primary.
//!
//! Why: every bridge node re-registers every few minutes, forever, and at the edge
//! each primary round trip costs tens to hundreds of milliseconds. An isolate that
//! has verified a node before remembers which organization it belongs to and the key
//! that verified it ([`NodeKeyCache`]: up to [`NODES_PER_ADDRESS`] organizations' nodes
//! at an address); the signature is checked against the remembered key of the named
//! organization's node, or, naming none, of each (at most that many RSA operations: a
//! forged request for a known address costs no more than that before the cold path's
//! bounded search, which does not try those keys again: ≤ 14 in all), and
//! everything the cold path's read decided (key still active, organization not
//! banned, node still in that organization, timestamp strictly newer) is decided by
//! the one conditional write, whose batch also reads back the row's state so the
//! answer is exactly the cold path's ([`decide`]) — but for one thing the cold path
//! would ask: a node that is not among its address's ten earliest must name its
//! organization there, and one an isolate remembers (it named it once) need not.
//! Revocations and bans take effect at once: the cache only ever saves the read,
//! never a check.
//!
//! Writes only on change: a heartbeat whose fields equal the stored row's, while the
//! row's last-seen is younger than `NODE_SEEN_RESOLUTION_SECONDS`, writes nothing
//! (the conditional write skips it) and is answered as stored ([`WarmOutcome::Unchanged`]).
//! The stored timestamp is then the last *change*'s, so the replay rule stays exact
//! for every change: a message changes state only if signed strictly after it
//! (SECURITY.md, "Threat model", Replay).

use std::collections::HashMap;

/// What the warm write's batch reads back after its conditional update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredState {
    /// The node's organization, if the node is registered.
    pub node_org: Option<String>,
    pub last_signed_at_ms: Option<i64>,
    /// Whether the key that verified is still active in that organization.
    pub key_active: bool,
    /// `None` when the organization no longer exists.
    pub org_banned: Option<bool>,
    /// Whether the stored row holds exactly the request's fields and was seen within
    /// the resolution: a write would change nothing a reader needs.
    pub unchanged: bool,
    /// Whether `POST /secrets` already answered this signature (an installer-form
    /// message is the same `ip|region|timestamp` there): a captured `/secrets` body
    /// must not register the node with fields its sender chose.
    pub secrets_fetched: bool,
    /// Whether the key may not write this node with this message: uploaded without
    /// proof, a message that does not sign the organization (the installer's, or v1
    /// without id_org), and not the key that wrote the node last (a copy of someone's
    /// key; store::nodes).
    pub key_unproven_here: bool,
    /// How many nodes the organization holds (0 when it no longer exists).
    pub org_nodes: i64,
}

impl StoredState {
    /// Whether a request signed at `signed_at_ms` is a replay: its signature was used
    /// once already, by /secrets (whatever the fields), or it is not newer than the
    /// node's last change or its tombstone.
    fn replays(&self, signed_at_ms: i64) -> bool {
        self.secrets_fetched
            || self
                .last_signed_at_ms
                .is_some_and(|last| signed_at_ms <= last)
    }
}

/// How a warm registration ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarmOutcome {
    Stored,
    /// Newer than the last change, but it would change nothing: not written, answered
    /// as stored (the heartbeat's 0-row case).
    Unchanged,
    /// "Unknown or banned organization", as the cold path answers.
    OrgUnusable,
    /// Not newer than the last accepted request: the replay answer.
    Replay,
    /// Something the cache assumed no longer holds (the node left the organization or
    /// was removed, the key was revoked): forget the entry and take the cold path,
    /// which reads the truth and answers as always.
    Recheck,
}

/// The outcome of a warm write for a request signed by `org_id`'s key at `signed_at_ms`,
/// as the cold path's read would decide it: the key first (the cold path reads active
/// keys only, so a revoked one, in a banned organization or not, is for it to answer),
/// then the organization, then the timestamp.
pub fn decide(applied: bool, org_id: &str, signed_at_ms: i64, state: &StoredState) -> WarmOutcome {
    if applied {
        return WarmOutcome::Stored;
    }
    if state.node_org.as_deref() != Some(org_id) || !state.key_active || state.key_unproven_here {
        return WarmOutcome::Recheck;
    }
    if state.org_banned != Some(false) {
        return WarmOutcome::OrgUnusable;
    }
    if state.replays(signed_at_ms) {
        return WarmOutcome::Replay;
    }
    if state.last_signed_at_ms.is_some() && state.unchanged {
        WarmOutcome::Unchanged
    } else {
        // Nothing failed, yet nothing changed: a concurrent change; read again.
        WarmOutcome::Recheck
    }
}

/// Whether a cold write that did not apply skipped an unchanged heartbeat of a node
/// already registered in `org_id` (answered as stored) rather than being refused.
pub fn cold_unchanged(org_id: &str, signed_at_ms: i64, state: &StoredState) -> bool {
    decide(false, org_id, signed_at_ms, state) == WarmOutcome::Unchanged
}

/// Why the cold path's write (after its read and the signature check) did not apply,
/// from the same read-back: something changed in between. The organization first
/// (banned or gone), then the key (revoked: when both changed in between, the answer is
/// the ban's; or unproven, and the node's stored key changed since the read), else a
/// replay (a concurrent newer request, a tombstone, or a signature
/// `/secrets` already answered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColdRefusal {
    OrgUnusable,
    KeyRevoked,
    /// An unproven key, a message that does not sign the organization, and the node's
    /// stored key is now another (or the node is gone).
    UnprovenKey,
    /// A new node, and the organization holds `NODES_MAX` nodes already.
    OrgFull,
    Replay,
}

pub fn cold_refusal(state: &StoredState, signed_at_ms: i64, nodes_max: u32) -> ColdRefusal {
    let replayed = state.replays(signed_at_ms);
    if state.org_banned != Some(false) {
        ColdRefusal::OrgUnusable
    } else if !state.key_active {
        ColdRefusal::KeyRevoked
    } else if state.key_unproven_here {
        ColdRefusal::UnprovenKey
    } else if !replayed && state.node_org.is_none() && state.org_nodes >= i64::from(nodes_max) {
        ColdRefusal::OrgFull
    } else {
        ColdRefusal::Replay
    }
}

/// A node as an isolate last verified it: its organization and the key that verified
/// it (id, PEM). A node that signs with another key takes the cold path once, which
/// remembers that one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownNode {
    pub org_id: String,
    pub key_id: String,
    pub public_key_pem: String,
}

/// Known nodes by address, per isolate: at an address, each organization's node
/// (several organizations may have a node behind one address, a NAT or a shared host:
/// each stays warm, instead of evicting the other on every heartbeat), the most
/// recently used first (verified on either path), at most [`NODES_PER_ADDRESS`] (a
/// request naming no organization is checked against each: one RSA operation apiece).
/// Bounded in nodes in all: when full it starts over, which costs each node one cold
/// registration (two round trips), never a wrong answer.
pub struct NodeKeyCache {
    nodes: HashMap<String, Vec<KnownNode>>,
    /// The nodes held, over every address.
    entries: usize,
    capacity: usize,
}

/// The organizations' nodes one address keeps warm.
pub const NODES_PER_ADDRESS: usize = 4;

impl NodeKeyCache {
    pub fn new(capacity: usize) -> NodeKeyCache {
        NodeKeyCache {
            nodes: HashMap::new(),
            entries: 0,
            capacity,
        }
    }

    /// The nodes known at `node_ip`, the most recently used first.
    pub fn get(&self, node_ip: &str) -> &[KnownNode] {
        self.nodes.get(node_ip).map_or(&[], Vec::as_slice)
    }

    /// Remembers `node` at `node_ip` (verified on the cold path), first; replaces what
    /// was remembered of its organization's node there.
    pub fn remember(&mut self, node_ip: &str, node: KnownNode) {
        let known = self.get(node_ip);
        // A node more in all: not its organization's again, and the address not full
        // (where the least recently used goes instead).
        let grows =
            !known.iter().any(|k| k.org_id == node.org_id) && known.len() < NODES_PER_ADDRESS;
        if grows && self.entries >= self.capacity {
            self.nodes.clear();
            self.entries = 0;
        }
        let known = self.nodes.entry(node_ip.to_owned()).or_default();
        let before = known.len();
        known.retain(|k| k.org_id != node.org_id);
        known.insert(0, node);
        known.truncate(NODES_PER_ADDRESS);
        self.entries = self.entries + known.len() - before;
    }

    /// Moves `org_id`'s node at `node_ip` first (it just verified on the warm path), so
    /// that a node in use is the last one pushed out.
    pub fn touch(&mut self, node_ip: &str, org_id: &str) {
        if let Some(known) = self.nodes.get_mut(node_ip) {
            if let Some(at) = known.iter().position(|k| k.org_id == org_id) {
                known[..=at].rotate_right(1);
            }
        }
    }

    /// Forgets `org_id`'s node at `node_ip` (removed, or what was assumed of it no
    /// longer holds); the other organizations' there stay.
    pub fn forget(&mut self, node_ip: &str, org_id: &str) {
        if let Some(known) = self.nodes.get_mut(node_ip) {
            let before = known.len();
            known.retain(|k| k.org_id != org_id);
            self.entries -= before - known.len();
            if known.is_empty() {
                self.nodes.remove(node_ip);
            }
        }
    }

    /// The nodes known, over every address.
    pub fn len(&self) -> usize {
        self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }
}

#[cfg(test)]
mod tests;
