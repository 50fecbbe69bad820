//! People: a member's role (`admin set-role`), and a person's data on their request
//! (docs/accounts.md, "A person's data"):
//! `admin export-account`'s reads, everything stored about them, and `admin
//! delete-account`'s erasure, with the organizations only they belong to.
//!
//! The plan is read first, and printed, so that the operator sees what goes before
//! anything does. The erasure is one `wrangler d1 execute` whose statements run in an
//! order where every prefix is a consistent database (children before the rows they
//! refer to, the person's sign-ins first, their organizations emptied of everything
//! personal before the memberships that find them go), and running it again finishes
//! the account: the command is not promised to be one transaction remotely
//! (SECURITY.md, known gaps).

use super::literal;
use gatehouse_core::account::rows::{ORGANIZATION_HOLDINGS, PERSONAL_TABLES};
use gatehouse_sql::{audited_actor, names_member, owner_mark, ERASED_USER};

/// Eight read-only statements: everything stored about the person at `email` (already
/// lowercase), one answer each. Not the password's or the tokens' hashes: they are
/// the service's means to check a secret, not something the person gave or can use.
pub fn account_export(email: &str) -> String {
    let email = literal(email);
    let user = format!("(SELECT id FROM users WHERE email = {email})");
    [
        format!(
            "SELECT id, email, inbox, first_name, last_name, image_url, is_business, \
             email_verified_at_ms, created_at_ms, failed_logins, failed_logins_since_ms \
             FROM users WHERE email = {email}"
        ),
        format!(
            "SELECT m.org_id, o.name AS org_name, m.role, m.created_at_ms FROM org_members m \
             JOIN organizations o ON o.id = m.org_id WHERE m.user_id = {user} \
             ORDER BY m.created_at_ms, m.org_id"
        ),
        format!(
            "SELECT id, device_info, created_at_ms, last_used_ms, expires_at_ms, ended_at_ms, \
             ended_for_reuse FROM sign_ins WHERE user_id = {user} ORDER BY created_at_ms, id"
        ),
        format!(
            "SELECT network, last_success_ms FROM login_networks WHERE user_id = {user} \
             ORDER BY last_success_ms"
        ),
        format!(
            "SELECT network, failures, window_start_ms FROM login_failures \
             WHERE user_id = {user} ORDER BY window_start_ms"
        ),
        format!(
            "SELECT created_at_ms, expires_at_ms, used_at_ms FROM email_verifications \
             WHERE user_id = {user} ORDER BY created_at_ms"
        ),
        format!(
            "SELECT created_at_ms, expires_at_ms, used_at_ms FROM password_resets \
             WHERE user_id = {user} ORDER BY created_at_ms"
        ),
        format!(
            "SELECT at_ms, org_id, key_id, action FROM key_audit \
             WHERE actor_user_id = {user} OR (key_id = {user} AND {}) ORDER BY at_ms, id",
            names_member("action")
        ),
    ]
    .join("; ")
}

/// Where each of [`account_export`]'s answers is, and what the export calls it.
pub const EXPORTED: [&str; 8] = [
    "account",
    "memberships",
    "signIns",
    "knownNetworks",
    "loginFailures",
    "verificationLinks",
    "resetLinks",
    "auditEntries",
];

/// The organizations `user` (an SQL expression: a quoted id or a subquery) is the only
/// member of: they go with the account. Read while the person's memberships exist.
fn sole_orgs(user: &str) -> String {
    format!(
        "SELECT m.org_id FROM org_members m WHERE m.user_id = {user} AND NOT EXISTS \
         (SELECT 1 FROM org_members o WHERE o.org_id = m.org_id AND o.user_id <> {user})"
    )
}

/// Whom an organization's OWNER role passes to when `user`, its only verified OWNER,
/// leaves it (`m` is the leaver's membership row): another member with a verified
/// address (only they can act), an ADMINISTRATOR before a MEMBER, the longest-standing
/// first; else the longest-standing other member.
fn successor(user: &str) -> String {
    format!(
        "SELECT o.user_id FROM org_members o JOIN users ou ON ou.id = o.user_id \
         WHERE o.org_id = m.org_id AND o.user_id <> {user} \
         ORDER BY ou.email_verified_at_ms IS NULL, o.role = 'MEMBER', o.created_at_ms, \
         o.user_id LIMIT 1"
    )
}

/// Another member of `m`'s organization than `user` is an OWNER who can act (verified).
fn another_verified_owner(user: &str) -> String {
    gatehouse_sql::another_verified_owner("m.org_id", user)
}

/// Three statements: the member's role in `org` now and whether their address is
/// verified (none: not a member); the change's audit entry, with no user (an operator;
/// `ROLE_<role>`, the member's id as its subject), written only if the member has
/// another role and it does not take OWNER from the organization's last OWNER who can
/// act (a verified one; as delete-account's hand-over counts); then the change,
/// returning the role set, made only if its entry is there (an OWNER made something
/// else is marked, as by route: removable by route a day later). `role` is one of the three
/// (the command line checks it). An operator's change is counted in the organization's
/// day of changes and never refused by it.
pub fn set_role(org: &str, email: &str, role: &str, audit_id: &str, now_ms: i64) -> String {
    let action = gatehouse_core::account::members::audit_action(role);
    let (org, email, role, audit_id) = (
        literal(org),
        literal(email),
        literal(role),
        literal(audit_id),
    );
    let user = format!("(SELECT id FROM users WHERE email = {email})");
    format!(
        "SELECT m.role, u.email_verified_at_ms IS NOT NULL AS verified FROM org_members m \
         JOIN users u ON u.id = m.user_id WHERE m.org_id = {org} AND m.user_id = {user}; \
         INSERT INTO key_audit (id, org_id, key_id, actor_user_id, action, at_ms) \
         SELECT {audit_id}, m.org_id, m.user_id, NULL, '{action}', {now_ms} FROM org_members m \
         WHERE m.org_id = {org} AND m.user_id = {user} AND m.role <> {role} \
         AND (m.role <> 'OWNER' OR {}); \
         UPDATE org_members SET role = {role}, {} WHERE org_id = {org} AND user_id = {user} \
         AND EXISTS (SELECT 1 FROM key_audit WHERE id = {audit_id}) RETURNING role",
        another_verified_owner("m.user_id"),
        owner_mark(&now_ms.to_string())
    )
}

/// Three read-only statements about the account at `email` (already lowercase): the
/// account; each organization it belongs to (whether it is banned; its other members,
/// whether another of them is a verified OWNER; its keys, nodes and service
/// environments; the address its OWNER role would pass to, and whether that one is
/// verified); and the audit entries naming the account in organizations that stay.
pub fn erasure_plan(email: &str) -> String {
    let email = literal(email);
    let user = format!("(SELECT id FROM users WHERE email = {email})");
    let count = |table: &str| {
        format!("(SELECT count(*) FROM {table} x WHERE x.org_id = m.org_id) AS {table}")
    };
    [
        format!("SELECT id, email_verified_at_ms FROM users WHERE email = {email}"),
        format!(
            "SELECT m.org_id, o.name, o.banned, m.role, \
             (SELECT count(*) FROM org_members x WHERE x.org_id = m.org_id \
               AND x.user_id <> m.user_id) AS other_members, \
             {} AS another_owner, {}, {}, {}, \
             (SELECT email FROM users WHERE id = ({s})) AS successor, \
             (SELECT email_verified_at_ms IS NOT NULL FROM users WHERE id = ({s})) \
               AS successor_verified \
             FROM org_members m JOIN organizations o ON o.id = m.org_id \
             WHERE m.user_id = {user} ORDER BY m.created_at_ms, m.org_id",
            another_verified_owner("m.user_id"),
            count("org_keys"),
            count("nodes"),
            count("node_envs"),
            s = successor("m.user_id"),
        ),
        format!(
            "SELECT count(*) AS entries FROM key_audit WHERE actor_user_id = {user} \
             AND org_id NOT IN ({})",
            sole_orgs(&user)
        ),
    ]
    .join("; ")
}

/// What the erasure of account `user_id` does, in order, as eighteen statements; each
/// returns what it removed or changed. The organizations the person is the only member
/// of are found when it runs (a colleague who joined since the plan keeps one, with
/// its keys and nodes); `sole_org_ids`, the plan's, are the ones deleted once nobody
/// belongs to them: a sole organization found only now (its other member left since
/// the plan) stays, emptied and named `erased:<id>`, as after a stopped run, until the
/// command runs again (for anyone): its last statement also deletes such leftovers.
pub fn erase_account(user_id: &str, sole_org_ids: &[&str]) -> String {
    let user = literal(user_id);
    let sole = sole_orgs(&user);
    let mut statements: Vec<String> = PERSONAL_TABLES
        .iter()
        .map(|table| format!("DELETE FROM {table} WHERE user_id = {user} RETURNING user_id"))
        .collect();
    for table in ORGANIZATION_HOLDINGS.iter().chain(&["subscriptions"]) {
        statements.push(format!(
            "DELETE FROM {table} WHERE org_id IN ({sole}) RETURNING org_id"
        ));
    }
    // Before the memberships go (they are how these are found): nothing personal is
    // left on an organization that a stopped run could leave behind, and no domain it
    // claimed still draws colleagues into it.
    statements.push(format!(
        "UPDATE organizations SET name = 'erased:' || id, domain = NULL, \
         pending_domain = NULL WHERE id IN ({sole}) RETURNING id"
    ));
    statements.push(format!(
        "UPDATE org_members SET role = 'OWNER' WHERE (org_id, user_id) IN \
         (SELECT m.org_id, ({}) FROM org_members m WHERE m.user_id = {user} \
          AND m.role = 'OWNER' AND NOT {}) RETURNING org_id, user_id",
        successor(&user),
        another_verified_owner(&user)
    ));
    statements.push(format!(
        "DELETE FROM org_members WHERE user_id = {user} RETURNING org_id"
    ));
    let ids: Vec<String> = sole_org_ids.iter().map(|id| literal(id)).collect();
    // And any organization a stopped run left emptied and renamed (its id no longer in
    // a plan: nobody belongs to it), once nothing holds it either: running the command
    // again, for this person or anyone, finishes it. Found by its name, which no index
    // holds (one pass over the organizations, an operator's command).
    let unheld: Vec<String> = ORGANIZATION_HOLDINGS
        .iter()
        .chain(&["subscriptions"])
        .map(|table| {
            format!("NOT EXISTS (SELECT 1 FROM {table} h WHERE h.org_id = organizations.id)")
        })
        .collect();
    statements.push(format!(
        "DELETE FROM organizations WHERE (id IN ({}) OR (name = 'erased:' || id AND {})) \
         AND NOT EXISTS (SELECT 1 FROM org_members m WHERE m.org_id = organizations.id) \
         RETURNING id",
        ids.join(", "),
        unheld.join(" AND ")
    ));
    // Audit entries of organizations that stay keep naming the account's id: its row
    // stays as their anchor with nothing personal left, and an address no route parses
    // (`erased:<id>`), so nobody can sign in as it, reset it or be mailed at it.
    let audited = audited_actor(&user);
    statements.push(format!(
        "UPDATE users SET {ERASED_USER} WHERE id = {user} AND {audited} RETURNING id"
    ));
    statements.push(format!(
        "DELETE FROM users WHERE id = {user} AND NOT {audited} RETURNING id"
    ));
    // Earlier erased accounts whose last audit entry went with this erasure (the
    // organization they had left was this person's alone): nothing holds them now.
    // The range is the email index's: `;` follows `:`.
    statements.push(
        "DELETE FROM users WHERE email >= 'erased:' AND email < 'erased;' AND NOT EXISTS \
         (SELECT 1 FROM key_audit a WHERE a.actor_user_id = users.id) RETURNING id"
            .to_owned(),
    );
    statements.join("; ")
}

/// Where each of [`erase_account`]'s answers is.
pub mod erased {
    pub const SIGN_INS: usize = 0;
    pub const NODES: usize = 5;
    pub const ORG_KEYS: usize = 9;
    pub const NEW_OWNERS: usize = 12;
    pub const ORGANIZATIONS: usize = 14;
    pub const SCRUBBED: usize = 15;
    pub const DELETED: usize = 16;
    pub const ANCHORS_FREED: usize = 17;
}
