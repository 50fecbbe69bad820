//! `admin delete-accounts-at DOMAIN`'s SQL: the plan, and the calls that each erase a
//! batch of the domain's accounts (person.rs's erasure) and read the next batch; and
//! the domain blocks that keep sign-ups there out (migration 0025).
//!
//! No call holds every id: each reads the next batch as its last statement, after its
//! erasure, so an account that signs up at the domain while the command runs is in a
//! later batch, and a run of any size sends batches of one command line's worth.

use super::literal;
use super::person::{
    erasure, held_counts, leaves_at, sole_orgs, sql_list, verified_owner_staying, AtDomain, Leaving,
};

/// The accounts at `at` that the erasure takes ([`leaves_at`]), as a subquery of their
/// ids. One pass over the accounts: no index holds an address's domain.
fn accounts_at(at: AtDomain) -> String {
    format!("(SELECT u.id FROM users u WHERE {})", leaves_at("u", at))
}

/// SQL: up to `size` ids of accounts at `at`, the next batch to erase. Without an
/// order, the scan stops at the `size`th it finds.
fn next_batch(at: AtDomain, size: u16) -> String {
    format!("SELECT id FROM {} LIMIT {size}", accounts_at(at))
}

/// Six read-only statements about the accounts at `at`, for `admin
/// delete-accounts-at`: whether the domain itself is a free-mail provider's (refused);
/// how many accounts, how many of them verified and at how many distinct domains (with
/// subdomains, a public suffix such as `co.uk` shows as thousands); the organizations only they
/// belong to, with their keys, nodes and service environments, and the banned ones'
/// ids; of the organizations that stay, the memberships that go and the OWNER roles
/// that pass on; how many of the accounts stay as anchors of audit entries of
/// organizations that stay; and the first batch of `batch` ids.
pub fn domain_erasure_plan(domain: AtDomain, batch: u16) -> String {
    let at = accounts_at(domain);
    let sole = sole_orgs(&at);
    [
        format!(
            "SELECT count(*) AS free_mail FROM free_mail_domains WHERE domain = {}",
            literal(domain.name)
        ),
        format!(
            "SELECT count(*) AS accounts, count(email_verified_at_ms) AS verified, \
             count(DISTINCT substr(email, instr(email, '@') + 1)) AS domains FROM users \
             WHERE id IN {at}"
        ),
        format!(
            "SELECT count(*) AS organizations, coalesce(sum(org_keys), 0) AS org_keys, \
             coalesce(sum(nodes), 0) AS nodes, coalesce(sum(node_envs), 0) AS node_envs, \
             group_concat(CASE WHEN banned <> 0 THEN id END, ', ') AS banned \
             FROM (SELECT o.id, o.banned, {} FROM organizations o WHERE o.id IN ({sole}))",
            held_counts("o.id"),
        ),
        format!(
            "SELECT count(*) AS memberships, count(DISTINCT m.org_id) AS organizations, \
             count(DISTINCT CASE WHEN m.role = 'OWNER' AND NOT {} THEN m.org_id END) \
               AS hand_overs \
             FROM org_members m WHERE m.user_id IN {at} AND m.org_id NOT IN ({sole})",
            verified_owner_staying(&Leaving::Domain(domain))
        ),
        format!(
            "SELECT count(*) AS anchors FROM users u WHERE u.id IN {at} AND EXISTS \
             (SELECT 1 FROM key_audit a WHERE a.actor_user_id = u.id \
              AND a.org_id NOT IN ({sole}))"
        ),
        next_batch(domain, batch),
    ]
    .join("; ")
}

/// Where each of [`domain_erasure_plan`]'s answers is.
pub mod domain_plan {
    pub const FREE_MAIL: usize = 0;
    pub const ACCOUNTS: usize = 1;
    pub const SOLE_ORGANIZATIONS: usize = 2;
    pub const STAYING: usize = 3;
    pub const ANCHORS: usize = 4;
    pub const FIRST_BATCH: usize = 5;
}

/// One call of the erasure: [`super::erase_account`]'s eighteen statements for the
/// accounts `user_ids` at `domain`, where nobody at the domain
/// takes an OWNER role over (they all leave: the calls after this one erase the rest)
/// and an organization only they belong to goes with the call that erases its last
/// member; then the next batch of up to `next` ids (answer [`NEXT_BATCH`]).
pub fn erase_domain_accounts(domain: AtDomain, user_ids: &[&str], next: u16) -> String {
    format!(
        "{}; {}",
        erasure(&sql_list(user_ids), &Leaving::Domain(domain), &[]),
        next_batch(domain, next)
    )
}

/// Where [`erase_domain_accounts`]'s next batch is (after the erasure's answers,
/// `super::erased`).
pub const NEXT_BATCH: usize = 18;

/// Four statements: whether `domain` (checked) is a free-mail provider's, its block
/// from `now_ms` unless it already is blocked (returning the domain when it was not),
/// the block's row either way, and the
/// nearest block of a parent domain that already refused its sign-ups, if any.
pub fn block_domain(domain: &str, now_ms: i64) -> String {
    let parents = blocks_over(domain, false);
    let domain = literal(domain);
    format!(
        "SELECT EXISTS (SELECT 1 FROM free_mail_domains WHERE domain = {domain}) AS free; \
         INSERT INTO blocked_domains (domain, blocked_at_ms) VALUES ({domain}, {now_ms}) \
         ON CONFLICT (domain) DO NOTHING RETURNING domain; SELECT domain, blocked_at_ms \
         FROM blocked_domains \
         WHERE domain = {domain}; {parents}"
    )
}

/// The nearest block that refuses sign-ups at `domain` (checked): of the domain itself
/// when `itself`, else only of a parent domain (of two labels or more).
pub fn blocks_over(domain: &str, itself: bool) -> String {
    let names = gatehouse_core::account::email::blockable_names(domain);
    let names = names
        .iter()
        .skip(usize::from(!itself))
        .map(|name| literal(name))
        .collect::<Vec<_>>();
    if names.is_empty() {
        return "SELECT NULL AS domain WHERE 0".to_owned();
    }
    format!(
        "SELECT domain, blocked_at_ms FROM blocked_domains WHERE domain IN ({}) \
         ORDER BY length(domain) DESC LIMIT 1",
        names.join(", ")
    )
}

/// Two statements: the block of `domain` (checked) lifted, returning it when there was
/// one; then the nearest block that still refuses sign-ups at it (a parent domain's).
pub fn unblock_domain(domain: &str) -> String {
    format!(
        "DELETE FROM blocked_domains WHERE domain = {} RETURNING domain; {}",
        literal(domain),
        blocks_over(domain, false)
    )
}

pub fn blocked_domains() -> String {
    "SELECT domain, blocked_at_ms FROM blocked_domains ORDER BY blocked_at_ms DESC, domain"
        .to_owned()
}
