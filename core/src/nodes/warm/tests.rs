use super::*;

fn state(
    org: Option<&str>,
    last: Option<i64>,
    key_active: bool,
    banned: Option<bool>,
) -> StoredState {
    StoredState {
        node_org: org.map(str::to_owned),
        last_signed_at_ms: last,
        key_active,
        org_banned: banned,
        unchanged: false,
        secrets_fetched: false,
        key_unproven_here: false,
        org_nodes: 1,
    }
}

#[test]
fn an_unproven_key_that_may_not_write_the_node_is_read_again_and_refused_as_such() {
    let copied = StoredState {
        key_unproven_here: true,
        unchanged: true,
        ..state(Some("o"), Some(10), true, Some(false))
    };
    // The warm path never answers for it (not even as unchanged): the cold path reads
    // the node's stored key and refuses the key there.
    assert_eq!(decide(false, "o", 11, &copied), WarmOutcome::Recheck);
    assert!(!cold_unchanged("o", 11, &copied));
    assert_eq!(cold_refusal(&copied, 11, MAX), ColdRefusal::UnprovenKey);
    // On the cold path a ban or a revocation since is still the answer it was.
    let banned = StoredState {
        org_banned: Some(true),
        ..copied.clone()
    };
    assert_eq!(cold_refusal(&banned, 11, MAX), ColdRefusal::OrgUnusable);
    let revoked = StoredState {
        key_active: false,
        ..copied
    };
    assert_eq!(cold_refusal(&revoked, 11, MAX), ColdRefusal::KeyRevoked);
}

#[test]
fn an_unchanged_heartbeat_newer_than_the_last_change_is_answered_unwritten() {
    let unchanged = StoredState {
        unchanged: true,
        ..state(Some("o"), Some(10), true, Some(false))
    };
    assert_eq!(decide(false, "o", 11, &unchanged), WarmOutcome::Unchanged);
    assert!(cold_unchanged("o", 11, &unchanged));
    // Not newer than the last change: a replay, whatever the fields.
    assert_eq!(decide(false, "o", 10, &unchanged), WarmOutcome::Replay);
    assert!(!cold_unchanged("o", 10, &unchanged));
    // Every refusal still comes first: ban, revocation, another organization.
    assert_revocation_then_ban_come_first(&unchanged);
    assert!(!cold_unchanged("p", 11, &unchanged));
    // A node with no row cannot be unchanged (a first registration always writes).
    let gone = StoredState {
        node_org: None,
        last_signed_at_ms: None,
        ..unchanged
    };
    assert!(!cold_unchanged("o", 11, &gone));
}

#[test]
fn a_signature_secrets_already_answered_is_a_replay_on_either_path() {
    let fetched = StoredState {
        secrets_fetched: true,
        ..state(Some("o"), Some(10), true, Some(false))
    };
    // Newer than the last change, and even with every field unchanged.
    assert_eq!(decide(false, "o", 11, &fetched), WarmOutcome::Replay);
    let unchanged = StoredState {
        unchanged: true,
        ..fetched.clone()
    };
    assert_eq!(decide(false, "o", 11, &unchanged), WarmOutcome::Replay);
    assert!(!cold_unchanged("o", 11, &unchanged));
    // A new node (no row yet): the cold write's refusal is the replay answer.
    let new_node = StoredState {
        secrets_fetched: true,
        ..state(None, None, true, Some(false))
    };
    assert_eq!(cold_refusal(&new_node, 11, MAX), ColdRefusal::Replay);
    // A revoked key is still read again, and a ban still comes before the timestamp.
    assert_revocation_then_ban_come_first(&fetched);
}

/// Whatever else `base` says, a revoked key is read again on the cold path (banned
/// organization or not: the cold path reads active keys only, so it answers that no
/// key verifies), and a ban (since) answers as such, for `o`'s request signed at 11.
fn assert_revocation_then_ban_come_first(base: &StoredState) {
    let banned = StoredState {
        org_banned: Some(true),
        ..base.clone()
    };
    assert_eq!(decide(false, "o", 11, &banned), WarmOutcome::OrgUnusable);
    let revoked = StoredState {
        key_active: false,
        ..base.clone()
    };
    assert_eq!(decide(false, "o", 11, &revoked), WarmOutcome::Recheck);
    let both = StoredState {
        key_active: false,
        ..banned
    };
    assert_eq!(decide(false, "o", 11, &both), WarmOutcome::Recheck);
}

#[test]
fn an_applied_write_is_stored_whatever_was_read_back() {
    assert_eq!(
        decide(true, "o", 5, &state(Some("o"), Some(5), true, Some(false))),
        WarmOutcome::Stored
    );
}

#[test]
fn a_failed_write_answers_as_the_cold_path_would() {
    let ok = state(Some("o"), Some(10), true, Some(false));
    assert_eq!(decide(false, "o", 10, &ok), WarmOutcome::Replay);
    assert_eq!(decide(false, "o", 9, &ok), WarmOutcome::Replay);
    // A banned organization before the timestamp, as the cold path checks it.
    let banned = state(Some("o"), Some(10), true, Some(true));
    assert_eq!(decide(false, "o", 9, &banned), WarmOutcome::OrgUnusable);
    // A deleted one took its keys: the cold path answers that none verifies.
    let gone = state(Some("o"), Some(10), false, None);
    assert_eq!(decide(false, "o", 11, &gone), WarmOutcome::Recheck);
}

#[test]
fn what_the_cache_assumed_but_no_longer_holds_is_read_again() {
    // Revoked key: the cold path decides (another active key may verify, or none).
    assert_eq!(
        decide(
            false,
            "o",
            11,
            &state(Some("o"), Some(10), false, Some(false))
        ),
        WarmOutcome::Recheck
    );
    // Node removed, or now another organization's.
    assert_eq!(
        decide(false, "o", 11, &state(None, None, true, Some(false))),
        WarmOutcome::Recheck
    );
    assert_eq!(
        decide(
            false,
            "o",
            11,
            &state(Some("p"), Some(1), true, Some(false))
        ),
        WarmOutcome::Recheck
    );
    // Nothing failed, nothing changed: a race; read again rather than guess.
    assert_eq!(
        decide(
            false,
            "o",
            11,
            &state(Some("o"), Some(10), true, Some(false))
        ),
        WarmOutcome::Recheck
    );
}

#[test]
fn a_cold_write_that_did_not_apply_says_what_changed_since_the_read() {
    // A new node (no row): a ban or a revocation since the read is named as such.
    let new_node = |key_active, banned| state(None, None, key_active, banned);
    assert_eq!(
        cold_refusal(&new_node(true, Some(true)), 11, MAX),
        ColdRefusal::OrgUnusable
    );
    assert_eq!(
        cold_refusal(&new_node(false, None), 11, MAX),
        ColdRefusal::OrgUnusable
    );
    assert_eq!(
        cold_refusal(&new_node(false, Some(false)), 11, MAX),
        ColdRefusal::KeyRevoked
    );
    // Nothing else changed: a newer request or a tombstone got there first.
    assert_eq!(
        cold_refusal(&state(Some("o"), Some(10), true, Some(false)), 11, MAX),
        ColdRefusal::Replay
    );
    assert_eq!(
        cold_refusal(&new_node(true, Some(false)), 11, MAX),
        ColdRefusal::Replay
    );
    // A new node in an organization at NODES_MAX, after the ban and the revocation;
    // a node it already holds is never refused for the count.
    let full = |node: StoredState| StoredState {
        org_nodes: i64::from(MAX),
        ..node
    };
    assert_eq!(
        cold_refusal(&full(new_node(true, Some(false))), 11, MAX),
        ColdRefusal::OrgFull
    );
    assert_eq!(
        cold_refusal(&full(new_node(false, Some(false))), 11, MAX),
        ColdRefusal::KeyRevoked
    );
    assert_eq!(
        cold_refusal(
            &full(state(Some("o"), Some(10), true, Some(false))),
            11,
            MAX
        ),
        ColdRefusal::Replay
    );
    // A new node refused by its tombstone (signed before the removal) or by a
    // signature /secrets answered is a replay, full or not.
    assert_eq!(
        cold_refusal(&full(state(None, Some(12), true, Some(false))), 11, MAX),
        ColdRefusal::Replay
    );
    let claimed = StoredState {
        secrets_fetched: true,
        ..full(new_node(true, Some(false)))
    };
    assert_eq!(cold_refusal(&claimed, 11, MAX), ColdRefusal::Replay);
}

const MAX: u32 = 3;

#[test]
fn the_cache_is_bounded_and_forgets() {
    let node = |org: &str| KnownNode {
        org_id: org.into(),
        key_id: format!("{org}-key"),
        public_key_pem: "pem".into(),
    };
    let orgs = |cache: &NodeKeyCache, ip: &str| -> Vec<String> {
        cache.get(ip).iter().map(|k| k.org_id.clone()).collect()
    };
    let mut cache = NodeKeyCache::new(5);
    cache.remember("192.0.2.1", node("a"));
    cache.remember("192.0.2.2", node("b"));
    cache.remember("192.0.2.2", node("c"));
    assert_eq!(cache.len(), 3);
    // Two organizations' nodes behind one address both stay known, the latest first;
    // one organization's node is remembered once, with its latest key.
    assert_eq!(orgs(&cache, "192.0.2.2"), ["c", "b"]);
    let mut rekeyed = node("b");
    rekeyed.key_id = "b-new-key".into();
    cache.remember("192.0.2.2", rekeyed);
    assert_eq!(orgs(&cache, "192.0.2.2"), ["b", "c"]);
    assert_eq!(cache.get("192.0.2.2")[0].key_id, "b-new-key");
    assert_eq!(cache.len(), 3);
    // At most NODES_PER_ADDRESS there: the least recently used goes, and a node used
    // on the warm path (touched) is first again.
    cache.remember("192.0.2.2", node("d"));
    cache.remember("192.0.2.2", node("e"));
    assert_eq!(orgs(&cache, "192.0.2.2"), ["e", "d", "b", "c"]);
    cache.touch("192.0.2.2", "c");
    assert_eq!(orgs(&cache, "192.0.2.2"), ["c", "e", "d", "b"]);
    cache.remember("192.0.2.2", node("f"));
    assert_eq!(orgs(&cache, "192.0.2.2"), ["f", "c", "e", "d"]);
    assert_eq!(NODES_PER_ADDRESS, 4);
    assert_eq!(cache.len(), 5);
    // Forgetting one organization's node keeps the others'.
    cache.forget("192.0.2.2", "e");
    assert_eq!(orgs(&cache, "192.0.2.2"), ["f", "c", "d"]);
    assert_eq!(cache.len(), 4);
    // Full in nodes (five, over every address): it starts over.
    cache.remember("192.0.2.3", node("g"));
    assert_eq!(cache.len(), 5);
    cache.remember("192.0.2.4", node("h"));
    assert_eq!(cache.len(), 1);
    assert!(cache.get("192.0.2.1").is_empty());
    cache.forget("192.0.2.4", "h");
    assert!(cache.is_empty());
}
