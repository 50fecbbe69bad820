//! The requests of `bench_stages` and `bench_profile`: `POST /register` bodies that stop
//! at successive stages of the same path, for the Rust worker and the plain-JS anchor
//! (bench/js-worker) alike.

use crate::nodes::{fields, now_ms, seed_org, signed};
use crate::{project_root, spawn_app_with, spawn_worker, TestApp};
use gatehouse_core::crypto::rsa_keys::PrivateKey;
use serde_json::Value;

/// Like the JS anchor's SQL: every accepted heartbeat writes its row (writes only on
/// change would spare the Rust worker the write that the anchor makes).
const WRITE_EVERY_HEARTBEAT: (&str, &str) = ("NODE_SEEN_RESOLUTION_SECONDS", "0");

/// The requests of one round, in path order, with the status each must get.
pub const STAGES: [(&str, u16); 7] = [
    (
        "new node, stale timestamp: routing, body, JSON, field checks, render",
        400,
    ),
    ("new node, replayed: + KV nonce read", 400),
    (
        "new node, unknown organization: + D1 read batch (no key to try)",
        400,
    ),
    ("new node, signed by another key: + RSA verify", 400),
    ("new node, accepted: + D1 write batch, KV nonce write", 200),
    (
        "warm, older than the last accepted: nonce read, RSA verify (cached key), D1 update batch",
        400,
    ),
    ("warm, accepted: + KV nonce write", 200),
];

/// What a kind of [`STAGES`] needs sent first, in the same round: a replay its
/// original, a warm request its node, the older warm request the newer one.
pub fn needs_first(stage: usize) -> &'static [usize] {
    match stage {
        1 | 6 => &[4],
        5 => &[4, 6],
        _ => &[],
    }
}

const ORG: &str = "org-stages";

/// One worker with an organization seeded.
pub struct Subject {
    pub app: TestApp,
    own: PrivateKey,
    stranger: PrivateKey,
}

/// The Rust worker, configured to write every heartbeat as the anchor does.
pub fn rust_worker() -> Subject {
    subject(spawn_app_with(&[
        ("TEST_HOOKS", "off"),
        WRITE_EVERY_HEARTBEAT,
    ]))
}

/// The plain-JS anchor.
pub fn js_worker() -> Subject {
    subject(spawn_worker(
        &project_root().join("bench/js-worker/wrangler.toml"),
    ))
}

fn subject(app: TestApp) -> Subject {
    let own = seed_org(&app, ORG, 2048);
    let stranger = PrivateKey::generate(2048).expect("RSA key");
    Subject { app, own, stranger }
}

impl Subject {
    /// The bodies of round `i` (one per entry of [`STAGES`]). The warm ones re-register
    /// the node that this round's accepted new node registered (sent before them, so
    /// this isolate knows it): one signed just after it, then one just before it.
    pub fn bodies(&self, i: usize) -> [Value; 7] {
        let now = now_ms();
        let ip = |stage: usize| format!("10.{}.{}.{}", 200 + stage, i / 250, i % 250 + 1);
        let accepted = signed(&self.own, &fields(&ip(4), now, Some(ORG)));
        [
            signed(&self.own, &fields(&ip(0), now - 3_600_000, Some(ORG))),
            accepted.clone(),
            signed(&self.own, &fields(&ip(2), now, Some("org-nobody"))),
            signed(&self.stranger, &fields(&ip(3), now, Some(ORG))),
            accepted,
            signed(&self.own, &fields(&ip(4), now - 1, Some(ORG))),
            signed(&self.own, &fields(&ip(4), now + 1, Some(ORG))),
        ]
    }
}
