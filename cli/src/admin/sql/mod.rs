//! The operator commands' SQL: the CLI's one store layer (the worker's is src/store).
//!
//! `wrangler d1 execute` takes a command string and has no parameter binding, so every
//! value goes through [`literal`], the one place that turns text into SQL: an id is
//! first checked against the form gatehouse gives ids, and the text is then quoted
//! the only way SQLite reads a string literal (single quotes, doubled inside; SQLite
//! has no backslash escapes). Numbers are Rust integers, formatted.

use gatehouse_sql::names_member;

/// Ids as gatehouse creates them (UUIDs) or operators seed them (`org-1`): letters,
/// digits, `-`, `_`, `.`, at most 128 characters.
pub fn checked_id(id: &str) -> Result<&str, String> {
    let ok = (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(id)
    } else {
        Err(format!("{id:?} is not an id (letters, digits, - _ . only)"))
    }
}

/// An email as users are stored (ASCII, lowercased as the worker's `Email::parse`
/// does), refused unless it looks like one: ASCII without control characters or
/// spaces, one `@` between non-empty parts, at most 254 bytes. (Unicode lowercasing
/// would map another mailbox onto a stored one: `K`, the Kelvin sign, becomes `k`.)
pub fn checked_email(email: &str) -> Result<String, String> {
    let ok = email.len() <= 254
        && email.is_ascii()
        && !email.chars().any(|c| c.is_control() || c.is_whitespace())
        && email.split_once('@').is_some_and(|(user, domain)| {
            !user.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if ok {
        Ok(email.to_ascii_lowercase())
    } else {
        Err(format!("{email:?} is not an email address"))
    }
}

/// A domain as stored addresses end after their `@` (lowercased as [`checked_email`]
/// lowercases): a DNS name of two labels or more, as the worker's `Email::parse`
/// accepts one.
pub fn checked_domain(domain: &str) -> Result<String, String> {
    if gatehouse_core::account::email::is_domain(domain) {
        Ok(domain.to_ascii_lowercase())
    } else {
        Err(format!("{domain:?} is not a domain (like example.com)"))
    }
}

/// `text` as an SQLite string literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Updates return the row's id: local `wrangler d1 execute` reports no change
/// counts, so "no such organization" is an empty result.
pub fn set_banned(org: &str, banned: bool) -> String {
    format!(
        "UPDATE organizations SET banned = {} WHERE id = {} RETURNING id",
        u8::from(banned),
        literal(org)
    )
}

pub fn set_network_provider(org: &str, provider: bool) -> String {
    format!(
        "UPDATE organizations SET network_provider = {} WHERE id = {} RETURNING id",
        u8::from(provider),
        literal(org)
    )
}

/// Five statements, one result each: organization, members, keys, nodes, trial.
pub fn show_org(org: &str) -> String {
    let org = literal(org);
    [
        format!(
            "SELECT id, name, domain, pending_domain, banned, network_provider, created_at_ms \
             FROM organizations WHERE id = {org}"
        ),
        format!(
            "SELECT u.id AS user_id, u.email, m.role, u.email_verified_at_ms, m.created_at_ms \
             FROM org_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = {org} \
             ORDER BY m.created_at_ms"
        ),
        format!(
            "SELECT id, bits, created_at_ms, revoked_at_ms FROM org_keys WHERE org_id = {org} \
             ORDER BY created_at_ms DESC"
        ),
        format!(
            "SELECT ip, provider, status, region, version, key_id, node_services, updated_at_ms \
             FROM nodes WHERE org_id = {org} ORDER BY updated_at_ms DESC"
        ),
        format!(
            "SELECT plan, starts_at_ms, ends_at_ms FROM subscriptions WHERE org_id = {org} \
             ORDER BY starts_at_ms DESC"
        ),
    ]
    .join("; ")
}

/// The actor is shown by email too: an operator answers "who did this" with a person;
/// so is a role change's or a removal's member (`key_id` holds their id), as
/// `member_email` (null once a removed member's account is gone).
pub fn key_audit(org: Option<&str>, limit: u32) -> String {
    let filter = org.map_or(String::new(), |o| format!("WHERE org_id = {} ", literal(o)));
    format!(
        "SELECT at_ms, org_id, key_id, action, actor_user_id, \
         (SELECT email FROM users WHERE users.id = key_audit.actor_user_id) AS actor_email, \
         (SELECT email FROM users WHERE users.id = key_audit.key_id \
           AND {}) AS member_email \
         FROM key_audit {filter}ORDER BY at_ms DESC, id LIMIT {limit}",
        names_member("key_audit.action")
    )
}

/// Three statements: the organizations `email` (already lowercase) is a member of, the
/// organization claiming its domain (if any), and the block that refuses sign-ups at
/// the domain (its own, or a parent's: the nearest), if any.
pub fn find_org(email: &str) -> String {
    let domain = email.rsplit('@').next().unwrap_or_default();
    [
        format!(
            "SELECT o.id, o.name, o.domain, o.banned, o.network_provider, m.role, \
             m.created_at_ms AS member_since_ms FROM users u \
             JOIN org_members m ON m.user_id = u.id JOIN organizations o ON o.id = m.org_id \
             WHERE u.email = {} ORDER BY m.created_at_ms",
            literal(email)
        ),
        format!(
            "SELECT id, name, domain, banned, network_provider FROM organizations \
             WHERE domain = {}",
            literal(domain)
        ),
        blocks_over(domain, true),
    ]
    .join("; ")
}

/// The tables whose size `admin stats` reports: every table but SQLite's, D1's and
/// Cloudflare's own (`sqlite_*`, `_cf_*`, `d1_migrations`).
pub fn stats_tables() -> String {
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
     AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name <> 'd1_migrations' ORDER BY name"
        .to_owned()
}

/// The ten domains with the most accounts (the part after an address's one `@`; an
/// erased account's `erased:<id>` has none), with how many of those are verified: a
/// domain whose every address reaches one script (a catch-all) shows here
/// (`admin delete-accounts-at`). One pass over the accounts, as the counts are.
pub fn top_domains() -> String {
    "SELECT substr(email, instr(email, '@') + 1) AS domain, count(*) AS accounts, \
     count(email_verified_at_ms) AS verified FROM users WHERE instr(email, '@') > 0 \
     GROUP BY domain ORDER BY accounts DESC, domain LIMIT 10"
        .to_owned()
}

/// The ten parent domains (an address's domain without its first label, itself of two
/// labels or more) whose subdomains hold the most accounts, where they are more than
/// one: a wildcard catch-all's script making up a subdomain per account never shows in
/// [`top_domains`], a few accounts each, but its parent shows here (`admin
/// delete-accounts-at PARENT --including-subdomains`). One more pass over the accounts.
pub fn top_parent_domains() -> String {
    "SELECT substr(d, instr(d, '.') + 1) AS parent, count(*) AS accounts, \
     count(DISTINCT d) AS domains, count(v) AS verified FROM (SELECT \
     substr(email, instr(email, '@') + 1) AS d, email_verified_at_ms AS v FROM users \
     WHERE instr(email, '@') > 0) WHERE instr(substr(d, instr(d, '.') + 1), '.') > 0 \
     GROUP BY parent HAVING count(DISTINCT d) > 1 ORDER BY accounts DESC, parent LIMIT 10"
        .to_owned()
}

/// A table or column name as gatehouse's schema spells them (letters, digits, `_`),
/// refused otherwise: names read from the database go back into SQL only this way.
pub fn checked_name(name: &str) -> Result<&str, String> {
    let ok = (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    ok.then_some(name)
        .ok_or_else(|| format!("unexpected table or column name {name:?}"))
}

/// One `PRAGMA table_info` per table (one result each, in order).
pub fn stats_columns(tables: &[&str]) -> String {
    tables
        .iter()
        .map(|t| format!("PRAGMA table_info({})", literal(t)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// One statement per table (one result each, in order): its name, rows and, with
/// `bytes`, the bytes its values take (the sum of every column's length as stored: text
/// and blobs by their bytes, numbers by their text) — the payload, without SQLite's
/// per-row and index overhead, read from every row. Separate statements: D1 refuses
/// long compound SELECTs.
pub fn stats_counts(tables: &[(&str, Vec<&str>)], bytes: bool) -> String {
    tables
        .iter()
        .map(|(table, columns)| {
            if !bytes {
                return format!(
                    "SELECT {} AS name, count(*) AS rows FROM {table}",
                    literal(table)
                );
            }
            let bytes = if columns.is_empty() {
                "0".to_owned()
            } else {
                columns
                    .iter()
                    .map(|c| format!("coalesce(length(CAST({c} AS BLOB)), 0)"))
                    .collect::<Vec<_>>()
                    .join(" + ")
            };
            format!(
                "SELECT {} AS name, count(*) AS rows, coalesce(sum({bytes}), 0) AS bytes \
                 FROM {table}",
                literal(table)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Two statements: the sealed row (only for an existing organization), then its audit
/// entry with no user (an operator), only if the row now holds exactly this seal.
pub fn node_env_set(
    org: &str,
    service: &str,
    sealed: &str,
    size: usize,
    audit_id: &str,
    now_ms: i64,
) -> String {
    let (org, service, sealed) = (literal(org), literal(service), literal(sealed));
    [
        format!(
            "INSERT INTO node_envs (org_id, service, sealed, size_bytes, updated_at_ms) \
             SELECT {org}, {service}, {sealed}, {size}, {now_ms} WHERE EXISTS \
             (SELECT 1 FROM organizations WHERE id = {org}) ON CONFLICT (org_id, service) DO \
             UPDATE SET sealed = excluded.sealed, size_bytes = excluded.size_bytes, \
             updated_at_ms = excluded.updated_at_ms RETURNING service"
        ),
        operator_audit(
            audit_id,
            &org,
            &service,
            "ENV_SET",
            now_ms,
            &format!(
                "node_envs WHERE org_id = {org} AND service = {service} AND sealed = {sealed}"
            ),
        ),
    ]
    .join("; ")
}

/// An operator's audit entry (no user) of `action` on `subject` (a key id or a service;
/// `org` and `subject` already literals), written only if rows `FROM {present}` exist:
/// the change it records is there.
fn operator_audit(
    audit_id: &str,
    org: &str,
    subject: &str,
    action: &str,
    now_ms: i64,
    present: &str,
) -> String {
    format!(
        "INSERT INTO key_audit (id, org_id, key_id, actor_user_id, action, at_ms) \
         SELECT {}, {org}, {subject}, NULL, '{action}', {now_ms} WHERE EXISTS \
         (SELECT 1 FROM {present})",
        literal(audit_id)
    )
}

pub fn node_env_list(org: &str) -> String {
    format!(
        "SELECT service, size_bytes, updated_at_ms FROM node_envs WHERE org_id = {} \
         ORDER BY service",
        literal(org)
    )
}

/// Up to `limit` service environments after `(org, service)` in key order, with their
/// sealed text: a page of [`super::super::node_env::reseal`]'s walk.
pub fn node_env_page(after: Option<(&str, &str)>, limit: u32) -> String {
    let from = after.map_or_else(String::new, |(org, service)| {
        format!(
            "WHERE (org_id, service) > ({}, {}) ",
            literal(org),
            literal(service)
        )
    });
    format!(
        "SELECT org_id, service, sealed FROM node_envs {from}ORDER BY org_id, service \
         LIMIT {limit}"
    )
}

/// Replaces a row's sealed text with the same file sealed under the new key, only if
/// the row still holds what was read: its text ends with `old_tail`, which covers the
/// old seal's MAC (a change since writes a new one), so a concurrent `PUT` is kept.
/// Returns the service when it wrote.
pub fn node_env_reseal(org: &str, service: &str, old_tail: &str, sealed: &str) -> String {
    format!(
        "UPDATE node_envs SET sealed = {} WHERE org_id = {} AND service = {} \
         AND substr(sealed, -{}) = {} RETURNING service",
        literal(sealed),
        literal(org),
        literal(service),
        old_tail.len(),
        literal(old_tail)
    )
}

/// Two statements: the audit entry (only if there is a row), then the delete,
/// returning what it removed.
pub fn node_env_delete(org: &str, service: &str, audit_id: &str, now_ms: i64) -> String {
    let (org, service) = (literal(org), literal(service));
    [
        operator_audit(
            audit_id,
            &org,
            &service,
            "ENV_DELETE",
            now_ms,
            &format!("node_envs WHERE org_id = {org} AND service = {service}"),
        ),
        format!(
            "DELETE FROM node_envs WHERE org_id = {org} AND service = {service} RETURNING service"
        ),
    ]
    .join("; ")
}

/// Two statements: the revocation (only of an active key of this organization),
/// returning the key it revoked, then its audit entry with no user, written only if
/// that revocation is there.
pub fn revoke_key(org: &str, key: &str, audit_id: &str, now_ms: i64) -> String {
    let (org, key) = (literal(org), literal(key));
    [
        format!(
            "UPDATE org_keys SET revoked_at_ms = {now_ms} WHERE id = {key} AND org_id = {org} \
             AND revoked_at_ms IS NULL RETURNING id"
        ),
        operator_audit(
            audit_id,
            &org,
            &key,
            "REVOKE",
            now_ms,
            &format!("org_keys WHERE id = {key} AND org_id = {org} AND revoked_at_ms = {now_ms}"),
        ),
    ]
    .join("; ")
}

/// Two statements: the person's id (none: no such account), then their live sign-ins
/// ended as a password reset ends them, returning each one ended.
pub fn end_sign_ins(email: &str, now_ms: i64) -> String {
    let email = literal(email);
    format!(
        "SELECT id FROM users WHERE email = {email}; UPDATE sign_ins SET ended_at_ms = \
         {now_ms} WHERE ended_at_ms IS NULL AND user_id = (SELECT id FROM users WHERE \
         email = {email}) RETURNING id"
    )
}

mod domain;
pub mod node_secrets;
pub mod nodes;
mod person;
pub use domain::*;
pub use person::*;

#[cfg(test)]
mod tests;
