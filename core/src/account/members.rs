//! An organization's members and their roles, as its OWNERs manage them
//! (`GET /organization/{idOrg}/members`, `PUT /organization/{idOrg}/member/{userId}`).
//!
//! Why OWNERs only: a role is what every other gate reads (keys, environments, nodes),
//! so granting one is the widest change an account can make; an ADMINISTRATOR who could
//! grant ADMINISTRATOR would make a stolen ADMINISTRATOR token as good as many. Why a
//! grant counts against the organization's day of changes (crate::org_changes) and a
//! withdrawal is never refused: like adding and revoking a key, undoing a thief's grant
//! must always work. Why the last OWNER who can act keeps the role: an organization
//! without one has nobody to manage its keys or people but the operator.
//!
//! Removal (`DELETE /organization/{idOrg}/member/{userId}`) ends the member's account:
//! a person belongs to the organization of their address's domain (docs/accounts.md),
//! login needs an organization, and an account left with none could neither sign in
//! nor be signed up again. So their sign-ins end and, unless they belong to another
//! organization, their account goes as the operator's erasure takes it (crate::account
//! ::rows). Someone who still receives mail at the domain can sign up again and is a
//! MEMBER once verified: membership of a domain organization follows its mailboxes.
//! Why an OWNER is never removed, nor for a day after they stopped being one
//! ([`OWNER_REMOVAL_HOLD_MS`]): an OWNER is first made ADMINISTRATOR or MEMBER, which
//! every OWNER is told of by mail, and stays removable only a day later, so a stolen
//! OWNER token cannot demote and erase the other OWNERs before they can act (reset the
//! stolen account's password, set the role back). Nobody removes themselves: the
//! caller is an OWNER. Why a removal needs room in the day's changes, unlike a
//! withdrawal: unverified sign-ups join a claimed domain's organization as MEMBERs, so
//! removals are not bounded by the people who act, and each writes an audit row kept
//! for `AUDIT_RETENTION_DAYS`; a member to be stopped at once is made MEMBER, which
//! is never refused.

use super::{json_object, roles, AccountError};
use serde_json::Value;

/// At most this many members are listed (the earliest to join first); `total` says
/// how many there are. An organization is its company's domain: a thousand is far
/// past any team this serves, and the bound keeps the answer and its read small.
pub const MEMBERS_LISTED: u32 = 1000;

/// The role a `PUT …/member/{userId}` body asks for: `{"orgRole": 0 | 254 | 255}`,
/// Flashback's numbers as every answer gives them (USER, ADMINISTRATORS, OWNER);
/// other fields are ignored. Returns the stored name.
pub fn parse_role_change(body: &[u8]) -> Result<&'static str, AccountError> {
    let body = json_object(body, r#"{"orgRole": 0 | 254 | 255}"#)?;
    let refused = || {
        AccountError::invalid_input(
            "orgRole must be 0 (USER), 254 (ADMINISTRATORS) or 255 (OWNER): the roles \
             gatehouse gives out",
        )
    };
    match body.get("orgRole") {
        Some(Value::Number(n)) => n.as_u64().and_then(roles::from_number).ok_or_else(refused),
        Some(_) => Err(refused()),
        None => Err(AccountError::invalid_input(
            "Missing required field: orgRole (0 USER, 254 ADMINISTRATORS, 255 OWNER)",
        )),
    }
}

/// The audit action (`key_audit.action`, the member's id in `key_id`) for a member
/// made `role`.
pub fn audit_action(role: &str) -> &'static str {
    match role {
        "OWNER" => "ROLE_OWNER",
        "ADMINISTRATOR" => "ROLE_ADMINISTRATOR",
        _ => "ROLE_MEMBER",
    }
}

/// The audit action of a removal (the removed member's id in `key_id`).
pub const REMOVAL_ACTION: &str = "MEMBER_REMOVED";

/// How long after they stopped being OWNER a member cannot be removed: a day, as the
/// organization's changes are counted.
pub const OWNER_REMOVAL_HOLD_MS: i64 = 24 * 3600 * 1000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::ErrorCode;

    #[test]
    fn a_role_is_asked_for_by_flashbacks_number() {
        assert_eq!(parse_role_change(br#"{"orgRole": 255}"#), Ok("OWNER"));
        assert_eq!(
            parse_role_change(br#"{"orgRole": 254, "note": "x"}"#),
            Ok("ADMINISTRATOR")
        );
        assert_eq!(parse_role_change(br#"{"orgRole": 0}"#), Ok("MEMBER"));
    }

    #[test]
    fn roles_gatehouse_does_not_give_out_and_other_shapes_are_named() {
        for body in [
            r#"{"orgRole": 1}"#,
            r#"{"orgRole": 2}"#,
            r#"{"orgRole": -1}"#,
            r#"{"orgRole": 255.5}"#,
            r#"{"orgRole": "OWNER"}"#,
            r#"{"orgRole": null}"#,
            r#"{"orgRole": 18446744073709551616}"#,
        ] {
            let e = parse_role_change(body.as_bytes()).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidInput, "{body}");
            assert!(e.message.contains("254 (ADMINISTRATORS)"), "{body}: {e:?}");
        }
        let e = parse_role_change(b"{}").unwrap_err();
        assert!(
            e.message.contains("Missing required field: orgRole"),
            "{e:?}"
        );
        let e = parse_role_change(b"[255]").unwrap_err();
        assert!(e.message.contains("JSON object"), "{e:?}");
        let e = parse_role_change(b"{\"orgRole\": ").unwrap_err();
        assert!(e.message.contains("Invalid JSON"), "{e:?}");
    }

    #[test]
    fn each_role_has_its_own_audit_action() {
        assert_eq!(audit_action("OWNER"), "ROLE_OWNER");
        assert_eq!(audit_action("ADMINISTRATOR"), "ROLE_ADMINISTRATOR");
        assert_eq!(audit_action("MEMBER"), "ROLE_MEMBER");
    }
}
