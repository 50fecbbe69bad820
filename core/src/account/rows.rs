//! Where a person's and an organization's rows are kept, by table: one list for the
//! places that must know them all — the worker's sweeps of accounts never verified
//! and of erased accounts (src/store/maintenance.rs: deletes a person's rows, and keeps
//! an unverified account whose organization holds any of an organization's), an
//! OWNER's removal of a member
//! (src/store/members.rs: a person's rows) and the operator's erasure of an account
//! (cli/src/admin/sql/person.rs: deletes both) — so that a table added for one is in
//! all. The maintenance end-to-end test holds the lists against the schema:
//! every foreign key into `users` or `organizations` is from a table named here (or
//! `org_members`, `subscriptions`, which both places handle on their own: memberships
//! are how an account's organizations are found, and every organization has its trial).

/// Tables with a person's own rows, by `user_id` (memberships aside). Sign-ins first: an
/// erasure stopped half-way has at least ended every sign-in.
pub const PERSONAL_TABLES: [&str; 5] = [
    "sign_ins",
    "email_verifications",
    "password_resets",
    "login_failures",
    "login_networks",
];

/// Tables with what an organization has made or been given, by `org_id`, each before
/// a table its rows refer to (a node names its key). Any of them holds an organization
/// that no verified person belongs to: its sign-ups are not swept (an operator may have
/// set its environments; its keys may predate the verification rule). An erasure
/// deletes them with an organization only the erased person belongs to.
pub const ORGANIZATION_HOLDINGS: [&str; 5] = [
    "nodes",
    "node_tombstones",
    "node_envs",
    "key_audit",
    "org_keys",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_goes_before_the_key_it_names() {
        let at = |table| {
            ORGANIZATION_HOLDINGS
                .iter()
                .position(|t| *t == table)
                .unwrap_or_else(|| panic!("{table} is not listed"))
        };
        assert!(at("nodes") < at("org_keys"));
    }
}
