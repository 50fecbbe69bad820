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

/// The organizations whose every member is among `leavers` (an SQL list or subquery of
/// user ids: one person's, or a domain's people): they go with the accounts. Read
/// while the memberships exist.
pub(super) fn sole_orgs(leavers: &str) -> String {
    format!(
        "SELECT m.org_id FROM org_members m WHERE m.user_id IN {leavers} AND NOT EXISTS \
         (SELECT 1 FROM org_members o WHERE o.org_id = m.org_id \
          AND o.user_id NOT IN {leavers})"
    )
}

/// Who leaves in an erasure, told apart from a member who stays by their account's row
/// (`users`): some accounts by id, or everyone at a domain, which the row's own address
/// tells without reading the other accounts there.
pub(super) enum Leaving<'a> {
    /// An SQL list (or parenthesized expression) of user ids: `('a', 'b')`, `(m.user_id)`.
    Ids(&'a str),
    /// Everyone at a domain (and with it, its subdomains).
    Domain(AtDomain<'a>),
}

/// Where a domain's erasure takes accounts: at a checked, lowercase domain, and when
/// `subdomains`, at every domain under it too.
#[derive(Debug, Clone, Copy)]
pub struct AtDomain<'a> {
    pub name: &'a str,
    pub subdomains: bool,
}

impl Leaving<'_> {
    /// SQL: the account `u` (a `users` alias) stays.
    fn stays(&self, u: &str) -> String {
        match self {
            Leaving::Ids(list) => format!("{u}.id NOT IN {list}"),
            Leaving::Domain(at) => format!("NOT {}", leaves_at(u, *at)),
        }
    }
}

/// SQL: account `u` (a `users` alias) is one a domain's erasure takes: its address is
/// at `at` ([`address_at`]) and its own domain is not a free-mail provider's (whose
/// people are strangers to each other: never erased together, whatever the command
/// line asks; with subdomains, such a subdomain's are left too). The batches read by
/// it and the OWNER hand-over tells who stays by it: one rule for both.
pub(super) fn leaves_at(u: &str, at: AtDomain) -> String {
    format!(
        "({} AND NOT EXISTS (SELECT 1 FROM free_mail_domains WHERE domain = \
         substr({u}.email, instr({u}.email, '@') + 1)))",
        address_at(u, at)
    )
}

/// SQL: account `u`'s (a `users` alias) address is at `at`: it ends in `@domain` (not
/// a subdomain's: the `@` is in the suffix), or, with its subdomains, in `.domain` too
/// (an address ends in its domain, which has no `@`, so that suffix is a subdomain's).
/// Addresses are stored ASCII and lowercase (`Email::parse`), so characters are bytes.
pub(super) fn address_at(u: &str, at: AtDomain) -> String {
    let ends_in = |suffix: String| {
        format!(
            "substr({u}.email, -{}) = {}",
            suffix.len(),
            literal(&suffix)
        )
    };
    let exact = ends_in(format!("@{}", at.name));
    if at.subdomains {
        format!("({exact} OR {})", ends_in(format!(".{}", at.name)))
    } else {
        exact
    }
}

/// Whom an organization's OWNER role passes to when its only verified OWNER leaves
/// (`m` is the leaver's membership row): a member who stays with a verified address
/// (only they can act), an ADMINISTRATOR before a MEMBER, the longest-standing first;
/// else the longest-standing member who stays.
fn successor(leaving: &Leaving) -> String {
    format!(
        "SELECT o.user_id FROM org_members o JOIN users ou ON ou.id = o.user_id \
         WHERE o.org_id = m.org_id AND {} \
         ORDER BY ou.email_verified_at_ms IS NULL, o.role = 'MEMBER', o.created_at_ms, \
         o.user_id LIMIT 1",
        leaving.stays("ou")
    )
}

/// A member of `m`'s organization who stays is an OWNER who can act (verified).
pub(super) fn verified_owner_staying(leaving: &Leaving) -> String {
    gatehouse_sql::verified_owner_such_that("m.org_id", &leaving.stays("xu"))
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
        verified_owner_staying(&Leaving::Ids("(m.user_id)")),
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
    [
        format!("SELECT id, email_verified_at_ms FROM users WHERE email = {email}"),
        format!(
            "SELECT m.org_id, o.name, o.banned, m.role, \
             (SELECT count(*) FROM org_members x WHERE x.org_id = m.org_id \
               AND x.user_id <> m.user_id) AS other_members, \
             {} AS another_owner, {}, \
             (SELECT email FROM users WHERE id = ({s})) AS successor, \
             (SELECT email_verified_at_ms IS NOT NULL FROM users WHERE id = ({s})) \
               AS successor_verified \
             FROM org_members m JOIN organizations o ON o.id = m.org_id \
             WHERE m.user_id = {user} ORDER BY m.created_at_ms, m.org_id",
            verified_owner_staying(&Leaving::Ids("(m.user_id)")),
            held_counts("m.org_id"),
            s = successor(&Leaving::Ids("(m.user_id)")),
        ),
        format!(
            "SELECT count(*) AS entries FROM key_audit WHERE actor_user_id = {user} \
             AND org_id NOT IN ({})",
            sole_orgs(&user)
        ),
    ]
    .join("; ")
}

/// Columns of a plan: what organization `org` (an SQL expression) holds that goes with
/// it, its keys, nodes and service environments, each named by its table.
pub(super) fn held_counts(org: &str) -> String {
    ["org_keys", "nodes", "node_envs"]
        .map(|table| format!("(SELECT count(*) FROM {table} x WHERE x.org_id = {org}) AS {table}"))
        .join(", ")
}

/// What the erasure of account `user_id` does, in order, as eighteen statements; each
/// returns what it removed or changed. The organizations the person is the only member
/// of are found when it runs (a colleague who joined since the plan keeps one, with
/// its keys and nodes), emptied and named `erased:<id>`, then deleted once nobody
/// belongs to them and nothing holds them; `sole_org_ids`, the plan's, are deleted once
/// nobody belongs to them. Its last statement also deletes what a stopped run left
/// emptied and renamed, so running the command again (for anyone) finishes it.
pub fn erase_account(user_id: &str, sole_org_ids: &[&str]) -> String {
    let leavers = sql_list(&[user_id]);
    erasure(&leavers, &Leaving::Ids(&leavers), sole_org_ids)
}

/// The erasure of `leavers` (an SQL list of user ids) while everyone `leaving` (who
/// holds them) leaves: the OWNER role passes to nobody among those.
pub(super) fn erasure(leavers: &str, leaving: &Leaving, sole_org_ids: &[&str]) -> String {
    let sole = sole_orgs(leavers);
    let mut statements: Vec<String> = PERSONAL_TABLES
        .iter()
        .map(|table| format!("DELETE FROM {table} WHERE user_id IN {leavers} RETURNING user_id"))
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
         (SELECT m.org_id, ({}) FROM org_members m WHERE m.user_id IN {leavers} \
          AND m.role = 'OWNER' AND NOT {}) RETURNING org_id, user_id",
        successor(leaving),
        verified_owner_staying(leaving)
    ));
    statements.push(format!(
        "DELETE FROM org_members WHERE user_id IN {leavers} RETURNING org_id"
    ));
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
        "DELETE FROM organizations WHERE (id IN {} OR (name = 'erased:' || id AND {})) \
         AND NOT EXISTS (SELECT 1 FROM org_members m WHERE m.org_id = organizations.id) \
         RETURNING id",
        sql_list(sole_org_ids),
        unheld.join(" AND ")
    ));
    // Audit entries of organizations that stay keep naming an account's id: its row
    // stays as their anchor with nothing personal left, and an address no route parses
    // (`erased:<id>`), so nobody can sign in as it, reset it or be mailed at it.
    let audited = audited_actor("users.id");
    statements.push(format!(
        "UPDATE users SET {ERASED_USER} WHERE id IN {leavers} AND {audited} RETURNING id"
    ));
    statements.push(format!(
        "DELETE FROM users WHERE id IN {leavers} AND NOT {audited} RETURNING id"
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

/// `texts` as an SQL list of string literals, `('a', 'b')`; `()` when empty.
pub(super) fn sql_list(texts: &[&str]) -> String {
    let literals: Vec<String> = texts.iter().map(|text| literal(text)).collect();
    format!("({})", literals.join(", "))
}

/// Where each of [`erase_account`]'s (and `erase_domain_accounts`') answers is.
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
