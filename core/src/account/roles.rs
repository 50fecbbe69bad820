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
}
