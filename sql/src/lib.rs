//! The SQL text gatehouse's two store layers share: the worker's (src/store), which
//! binds parameters, and the operator CLI's (cli/src/admin/sql), which `wrangler d1
//! execute` runs with every value quoted into the text. A rule both must apply the same
//! way — who counts as an OWNER who can act, what an erased account keeps, which audit
//! entries name a member — is written once here; each function takes the SQL
//! expressions to apply it to (a parameter like `?2`, a column like `m.org_id`, or a
//! quoted literal), so either layer can use it. Nothing here runs a statement: SQL
//! lives in the store layers, and these are parts of their statements.

use gatehouse_core::account::members::REMOVAL_ACTION;

/// `SET` list: what an erased account's `users` row keeps when audit entries name it as
/// their actor (it stays as their anchor): its id and nothing personal, with an address
/// no route parses (`erased:<id>`), so nobody can sign in as it, reset it or be mailed
/// at it. The operator's erasure and an OWNER's removal of a member.
pub const ERASED_USER: &str = "email = 'erased:' || id, password_hash = '', first_name = '', \
     last_name = '', image_url = NULL, inbox = NULL, failed_logins = 0, \
     failed_logins_since_ms = NULL";

/// SQL: the `users` row `u` (a table alias) is an erased account's ([`ERASED_USER`]),
/// found through the address index: a range of the `erased:` prefix, then the exact
/// address (a prefix no address a route parses can have: it holds no `@`).
pub fn erased(u: &str) -> String {
    format!("{u}.email >= 'erased:' AND {u}.email < 'erased;' AND {u}.email = 'erased:' || {u}.id")
}

/// Audit entries name account `user` as their actor, so its erased row stays as their
/// anchor ([`ERASED_USER`]) instead of going.
pub fn audited_actor(user: &str) -> String {
    format!("EXISTS (SELECT 1 FROM key_audit WHERE actor_user_id = {user})")
}

/// The audit entry whose action is in column `action` names a member as its subject
/// (`key_id`): a role change or a removal.
pub fn names_member(action: &str) -> String {
    format!("({action} LIKE 'ROLE_%' OR {action} = '{REMOVAL_ACTION}')")
}

/// Another member of organization `org` than `member` is an OWNER who can act (a
/// verified one): the last such OWNER keeps the role, by route, by the operator's
/// `set-role` and through an erasure's hand-over.
pub fn another_verified_owner(org: &str, member: &str) -> String {
    verified_owner_such_that(org, &format!("x.user_id <> {member}"))
}

/// A member of organization `org` for whom `who` holds is an OWNER who can act (a
/// verified one): [`another_verified_owner`] for whoever stays when several people
/// leave at once (an operator's erasure of a domain's accounts). `who` is a condition
/// on the membership `x` and its account `xu` (a `users` row).
pub fn verified_owner_such_that(org: &str, who: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM org_members x JOIN users xu ON xu.id = x.user_id \
         WHERE x.org_id = {org} AND {who} AND x.role = 'OWNER' \
         AND xu.email_verified_at_ms IS NOT NULL)"
    )
}

/// `SET` item of a role change at `now`: a member who stops being OWNER is marked, so
/// that removal waits a day (core::account::members::OWNER_REMOVAL_HOLD_MS). SQLite
/// reads `role` here as it was before the change.
pub fn owner_mark(now: &str) -> String {
    format!("owner_until_ms = CASE WHEN role = 'OWNER' THEN {now} ELSE owner_until_ms END")
}

/// SQL: the nodes last seen before `cutoff` (an expression in milliseconds), least
/// recently seen first (ties by organization and address), at most `limit`, with
/// `columns` of `nodes`, among them `updated_at_ms` for the order. Through
/// `nodes_listed_by_last_seen` (migration 0022), which keeps the directory's nodes in a
/// range of their own: each of the two ranges is read for at most `limit` rows, and
/// the two are merged. The scheduled sweep of stale nodes and the operator's list.
pub fn least_recently_seen(columns: &str, cutoff: &str, limit: &str) -> String {
    let range = |listed: u8| {
        format!(
            "SELECT * FROM (SELECT {columns} FROM nodes WHERE listed = {listed} \
             AND updated_at_ms < {cutoff} ORDER BY updated_at_ms, org_id, ip LIMIT {limit})"
        )
    };
    format!(
        "SELECT * FROM ({} UNION ALL {}) ORDER BY updated_at_ms, org_id, ip LIMIT {limit}",
        range(0),
        range(1)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_part_applies_its_rule_to_the_expressions_given() {
        assert_eq!(
            names_member("a.action"),
            "(a.action LIKE 'ROLE_%' OR a.action = 'MEMBER_REMOVED')"
        );
        assert!(another_verified_owner("?1", "'u-1'")
            .contains("x.org_id = ?1 AND x.user_id <> 'u-1' AND x.role = 'OWNER'"));
        assert!(audited_actor("?2").ends_with("actor_user_id = ?2)"));
        assert!(owner_mark("7").contains("THEN 7 ELSE owner_until_ms"));
        assert!(
            ERASED_USER.contains("inbox = NULL"),
            "an alias's mailbox goes too"
        );
        assert!(
            ERASED_USER.starts_with("email = 'erased:' || id,"),
            "the address erased() finds"
        );
        assert!(erased("u").ends_with("u.email = 'erased:' || u.id"));
        let stale = least_recently_seen("org_id, ip, updated_at_ms", "?1", "?2");
        for listed in ["listed = 0", "listed = 1"] {
            assert!(stale.contains(&format!("WHERE {listed} AND updated_at_ms < ?1")));
        }
        assert!(stale.ends_with("ORDER BY updated_at_ms, org_id, ip LIMIT ?2"));
    }
}
