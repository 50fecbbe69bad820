//! Organization roles: stored by name, answered as Flashback's numbers (its client's
//! `OrgRoles`: USER 0x00, BILLING 0x01, WORKSPACES 0x02, ADMINISTRATORS 0xfe, OWNER
//! 0xff). gatehouse gives out OWNER (an organization's founder), ADMINISTRATOR and
//! MEMBER (a colleague who joins: Flashback's USER).

/// `(stored name, number, description)` for every role gatehouse stores.
const ROLES: [(&str, u8, &str); 3] = [
    ("OWNER", 0xff, "OWNER"),
    ("ADMINISTRATOR", 0xfe, "ADMINISTRATORS"),
    ("MEMBER", 0x00, "USER"),
];

/// The role's number (0 for a name gatehouse never stores).
pub fn number(stored: &str) -> u8 {
    ROLES
        .iter()
        .find(|(name, _, _)| *name == stored)
        .map_or(0, |(_, n, _)| *n)
}

/// The stored name of the role Flashback numbers `n`, for the three gatehouse gives out
/// (`None` for BILLING 1, WORKSPACES 2 and any other number).
pub fn from_number(n: u64) -> Option<&'static str> {
    ROLES
        .iter()
        .find(|(_, number, _)| u64::from(*number) == n)
        .map(|(name, _, _)| *name)
}

/// How much a role may do: MEMBER 0 (read), ADMINISTRATOR 1 (keys, environments),
/// OWNER 2 (also roles). A change to a higher rank is a grant.
pub fn rank(stored: &str) -> u8 {
    match stored {
        "OWNER" => 2,
        "ADMINISTRATOR" => 1,
        _ => 0,
    }
}

/// Flashback's name for the role (`ADMINISTRATORS`, `USER`, …).
pub fn description(stored: &str) -> &'static str {
    ROLES
        .iter()
        .find(|(name, _, _)| *name == stored)
        .map_or("USER", |(_, _, d)| d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_as_flashback_numbers_them() {
        assert_eq!(number("OWNER"), 255);
        assert_eq!(number("ADMINISTRATOR"), 254);
        assert_eq!(number("MEMBER"), 0);
        assert_eq!(description("ADMINISTRATOR"), "ADMINISTRATORS");
        assert_eq!(description("MEMBER"), "USER");
    }

    #[test]
    fn numbers_name_only_the_roles_gatehouse_gives_out() {
        for (name, n, _) in ROLES {
            assert_eq!(from_number(u64::from(n)), Some(name));
            assert_eq!(number(name), n);
        }
        for n in [1, 2, 3, 253, 256, 65_535] {
            assert_eq!(from_number(n), None, "{n}");
        }
        assert!(rank("OWNER") > rank("ADMINISTRATOR"));
        assert!(rank("ADMINISTRATOR") > rank("MEMBER"));
    }
}
