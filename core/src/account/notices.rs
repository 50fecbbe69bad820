//! Security notices: mail to the account whose sign-in made a change that outlives
//! the sign-in, and to the organization's other OWNERs. A key added to an organization
//! verifies its nodes and fetches their service environments (`POST /secrets`) until
//! someone revokes it, and a service environment set is what the nodes run with; a
//! password reset ends a thief's sign-ins but undoes neither. The notice is how the
//! account's owner learns of such a change made with a stolen token, and what to do
//! (SECURITY.md, "Threat model", Stolen access token); the OWNERs learn of it even
//! when the token was an ADMINISTRATOR's whose mailbox nobody reads. Like every mail
//! here it carries nothing a sign-up typed but, for the OWNERs, the acting account's
//! address, which only a verified OWNER or ADMINISTRATOR of their own organization can
//! be, and the address of a member removed or joined (a verified address at the
//! organization's domain: its local part is the one text a stranger with a mailbox
//! there chooses, escaped like every value); besides these, ids, the time and the
//! worker's address. A join is told to the OWNERs too: no sign-in made it.

use super::verification::html_escape;

/// A change made with an account's sign-in that the account's owner is told of.
pub enum Notice<'a> {
    /// `POST /organization/{idOrg}/key`: a key added (uploaded or generated).
    KeyAdded { org_id: &'a str, key_id: &'a str },
    /// `PUT /organization/{idOrg}/node-env/{service}`: a service environment set.
    NodeEnvSet { org_id: &'a str, service: &'a str },
    /// `PUT /organization/{idOrg}/member/{userId}`: a member's role changed (`role`,
    /// the stored name). Named by id: the member's address is what they typed.
    RoleSet {
        org_id: &'a str,
        user_id: &'a str,
        role: &'a str,
    },
    /// `DELETE /organization/{idOrg}/member/{userId}`: a member was removed, their
    /// account ended (core::account::members); to the OWNERs. Named by id and by the
    /// address they had: the id names nothing once the account is erased, and the
    /// address was listed to every member (`GET …/members`).
    MemberRemoved {
        org_id: &'a str,
        user_id: &'a str,
        email: &'a str,
    },
    /// The same removal, to the member removed (at the address they had).
    YouWereRemoved { org_id: &'a str },
    /// A verification made an account a MEMBER of the organization by its address's
    /// domain; to the OWNERs. No sign-in of theirs made it: whoever could read a
    /// colleague's mailbox for a while (a `+` tag reaches it) keeps an account of their
    /// own, and this is how the OWNERs see it. Named by id and by the verified address,
    /// which is at the organization's own domain.
    MemberJoined {
        org_id: &'a str,
        user_id: &'a str,
        email: &'a str,
    },
}

impl Notice<'_> {
    /// Whether this notice goes out only at the sender's pace per recipient (the shell's
    /// limiter), or always. A key added is always told, so that nobody can hide one
    /// behind a burst of other changes (keys also need room under `ORGKEYS_MAX`, so
    /// revocations between them); an environment set is paced, so that a loop of
    /// environment writes does not spend in a minute the sending quota that
    /// verification and reset mail need. A role change is always told, as a key: a
    /// grant is what a thief would hide (a withdrawal is never refused, a grant only
    /// after one, so both are bounded by the grants). These are bounded by an
    /// organization's 100 changes a day (crate::org_changes).
    ///
    /// A join is paced too, on a pace of its own ([`Notice::pace_key`]): joins are not
    /// changes of the day's budget but sign-ups (10 a minute per network), a burst of
    /// them is told by its first ten notices and listed in `GET …/members`, and a burst
    /// must not spend the pace an environment set is told at.
    pub fn paced(&self) -> bool {
        matches!(
            self,
            Notice::NodeEnvSet { .. } | Notice::MemberJoined { .. }
        )
    }

    /// The key the shell paces this notice under for `recipient` (a user id), if paced.
    pub fn pace_key(&self, recipient: &str) -> Option<String> {
        match self {
            Notice::NodeEnvSet { .. } => Some(format!("notice:{recipient}")),
            Notice::MemberJoined { .. } => Some(format!("join-notice:{recipient}")),
            _ => None,
        }
    }
}

/// (subject, text, html) of the notice; `at` is when (RFC 3339), `product` the
/// worker's public URL, `actor` the acting account's address when the notice goes to
/// another of the organization's OWNERs (`None`: to the actor).
pub fn notice_email(
    notice: &Notice<'_>,
    at: &str,
    product: &str,
    actor: Option<&str>,
) -> (String, String, String) {
    let (subject, what, undo) = match notice {
        Notice::KeyAdded { org_id, key_id } => (
            "A key was added to your organization",
            format!(
                "a key ({key_id}) was added to organization {org_id}. Until it is revoked it \
                 verifies node registrations for the organization and can fetch its nodes' \
                 service environments"
            ),
            format!(
                "revoke the key (DELETE /organization/{org_id}/key/{key_id}) and change the \
                 credentials in the organization's service environments"
            ),
        ),
        Notice::NodeEnvSet { org_id, service } => (
            "A service environment of your organization was set",
            format!(
                "the {service} service environment of organization {org_id} was set. The \
                 organization's nodes fetch it from POST /secrets"
            ),
            format!(
                "review the organization's keys (GET /organization/{org_id}/key) and set the \
                 {service} environment again"
            ),
        ),
        Notice::RoleSet {
            org_id,
            user_id,
            role,
        } => (
            "A member's role in your organization was changed",
            format!(
                "the account {user_id} was made {} (orgRole {}) in organization {org_id}, \
                 from its next request on",
                super::roles::description(role),
                super::roles::number(role)
            ),
            format!(
                "set the role back (PUT /organization/{org_id}/member/{user_id} with \
                 {{\"orgRole\": …}}; GET /organization/{org_id}/members lists who has which, \
                 GET /organization/{org_id}/audit who changed what)"
            ),
        ),
        Notice::MemberRemoved {
            org_id,
            user_id,
            email,
        } => (
            "A member was removed from your organization",
            format!(
                "the account {user_id} ({email}) was removed from organization {org_id}: its \
                 sign-ins ended, and unless it belongs to another organization it was erased"
            ),
            format!(
                "the person signs up again at the organization's domain and joins it as a \
                 MEMBER, who acts once verified; an OWNER then gives their role back (GET \
                 /organization/{org_id}/audit shows who changed what)"
            ),
        ),
        Notice::MemberJoined {
            org_id,
            user_id,
            email: _,
        } => (
            "Someone joined your organization",
            format!(
                "the account {user_id} joined organization {org_id} as a MEMBER: its address \
                 is at the organization's domain and was verified"
            ),
            format!(
                "remove the account (DELETE /organization/{org_id}/member/{user_id}; GET \
                 /organization/{org_id}/members lists every member)"
            ),
        ),
        Notice::YouWereRemoved { org_id } => (
            "You were removed from an organization",
            format!(
                "your account was removed from organization {org_id}: your sign-ins ended, \
                 and unless you belong to another organization your account was erased"
            ),
            "you can sign up again with your address at the organization's domain: you \
             join it as a MEMBER, who acts once verified, and an OWNER gives your role back"
                .to_owned(),
        ),
    };
    let (whose, advice) = match (notice, actor) {
        // Nobody acted with a sign-in: the address did, by verifying.
        (Notice::MemberJoined { email, .. }, _) => (
            format!("the address {email}"),
            format!(
                "If you do not know who reads {email} (a `+` tag or an alias of a colleague's \
                 address reaches their mailbox, which someone else may have read),"
            ),
        ),
        (_, None) => (
            "your account".to_owned(),
            "If this was not you, someone has used your account: reset your password (that \
             signs out every session), then"
                .to_owned(),
        ),
        (_, Some(actor)) => (
            format!("the account {actor}, of your organization,"),
            format!(
                "If {actor} did not mean to, someone has used that account: have them reset \
                 their password (that signs out every session), and"
            ),
        ),
    };
    let text =
        format!("Hello,\n\nWith {whose} at {product}, at {at}, {what}.\n\n{advice} {undo}.\n");
    let html = format!(
        "<!doctype html><html><body><p>Hello,</p><p>With {} at {}, at {}, {}.</p>\
         <p>{} {}.</p></body></html>",
        html_escape(&whose),
        html_escape(product),
        html_escape(at),
        html_escape(&what),
        html_escape(&advice),
        html_escape(&undo)
    );
    (subject.to_owned(), text, html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_notice_names_the_key_the_organization_and_how_to_undo_it() {
        let notice = Notice::KeyAdded {
            org_id: "org-1",
            key_id: "key-9",
        };
        let (subject, text, html) = notice_email(
            &notice,
            "2026-11-29T10:00:00.000Z",
            "https://gate.example.com",
            None,
        );
        assert_eq!(subject, "A key was added to your organization");
        for needle in [
            "key-9",
            "organization org-1",
            "2026-11-29T10:00:00.000Z",
            "https://gate.example.com",
            "DELETE /organization/org-1/key/key-9",
            "reset your password",
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
        assert!(
            html.contains("DELETE /organization/org-1/key/key-9"),
            "{html}"
        );
    }

    #[test]
    fn a_role_notice_names_the_member_by_id_and_how_to_set_it_back() {
        let notice = Notice::RoleSet {
            org_id: "org-1",
            user_id: "user-7",
            role: "OWNER",
        };
        let (subject, text, _) = notice_email(&notice, "t", "https://gate.example.com", None);
        assert!(subject.contains("role"), "{subject}");
        for needle in [
            "the account user-7 was made OWNER (orgRole 255) in organization org-1",
            "PUT /organization/org-1/member/user-7",
            "GET /organization/org-1/members",
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
        assert!(!notice.paced(), "a grant is always told");
    }

    #[test]
    fn a_removal_notice_names_the_account_by_id_and_address_and_how_to_come_back() {
        let notice = Notice::MemberRemoved {
            org_id: "org-1",
            user_id: "user-7",
            email: "bob@acme.io",
        };
        let (subject, text, _) = notice_email(
            &notice,
            "t",
            "https://gate.example.com",
            Some("boss@acme.io"),
        );
        assert_eq!(subject, "A member was removed from your organization");
        for needle in [
            "With the account boss@acme.io, of your organization,",
            "the account user-7 (bob@acme.io) was removed from organization org-1",
            "signs up again at the organization's domain",
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
        assert!(!notice.paced(), "a removal is always told");

        let yours = Notice::YouWereRemoved { org_id: "org-1" };
        let (subject, text, _) = notice_email(
            &yours,
            "t",
            "https://gate.example.com",
            Some("boss@acme.io"),
        );
        assert_eq!(subject, "You were removed from an organization");
        for needle in [
            "With the account boss@acme.io, of your organization,",
            "your account was removed from organization org-1",
            "you can sign up again with your address",
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
    }

    #[test]
    fn an_environment_notice_names_the_service_and_markup_is_escaped() {
        let notice = Notice::NodeEnvSet {
            org_id: "<org>",
            service: "s3",
        };
        let (subject, text, html) = notice_email(&notice, "t", "https://gate.example.com", None);
        assert!(subject.contains("service environment"), "{subject}");
        assert!(
            text.contains("the s3 service environment of organization <org>"),
            "{text}"
        );
        assert!(
            html.contains("&lt;org&gt;") && !html.contains("<org>"),
            "{html}"
        );
    }

    #[test]
    fn joins_are_paced_apart_from_environment_notices() {
        let env = Notice::NodeEnvSet {
            org_id: "o",
            service: "s3",
        };
        let join = Notice::MemberJoined {
            org_id: "o",
            user_id: "u",
            email: "a@o.io",
        };
        assert_eq!(env.pace_key("owner-1").as_deref(), Some("notice:owner-1"));
        assert_eq!(
            join.pace_key("owner-1").as_deref(),
            Some("join-notice:owner-1")
        );
        let key = Notice::KeyAdded {
            org_id: "o",
            key_id: "k",
        };
        assert_eq!(key.pace_key("owner-1"), None);
    }

    #[test]
    fn a_key_is_always_told_and_an_environment_at_the_senders_pace() {
        let key = Notice::KeyAdded {
            org_id: "o",
            key_id: "k",
        };
        let env = Notice::NodeEnvSet {
            org_id: "o",
            service: "s3",
        };
        assert!(!key.paced() && env.paced());
    }

    #[test]
    fn an_owner_is_told_which_account_made_the_change_and_what_to_do() {
        let notice = Notice::KeyAdded {
            org_id: "org-1",
            key_id: "key-9",
        };
        let (subject, text, html) = notice_email(
            &notice,
            "t",
            "https://gate.example.com",
            Some("admin@acme.io"),
        );
        assert_eq!(subject, "A key was added to your organization");
        for needle in [
            "With the account admin@acme.io, of your organization,",
            "If admin@acme.io did not mean to",
            "have them reset their password",
            "DELETE /organization/org-1/key/key-9",
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
        assert!(!text.contains("your account"), "{text}");
        assert!(html.contains("admin@acme.io"), "{html}");
    }

    #[test]
    fn a_join_is_told_to_the_owners_with_the_address_and_how_to_remove_it() {
        let notice = Notice::MemberJoined {
            org_id: "org-1",
            user_id: "user-7",
            email: "ada+x@acme.io",
        };
        let (subject, text, html) = notice_email(
            &notice,
            "t",
            "https://gate.example.com",
            Some("ada+x@acme.io"),
        );
        assert_eq!(subject, "Someone joined your organization");
        for needle in [
            "With the address ada+x@acme.io at https://gate.example.com, at t, the account \
             user-7 joined organization org-1 as a MEMBER",
            "If you do not know who reads ada+x@acme.io",
            "remove the account (DELETE /organization/org-1/member/user-7;",
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
        // Nobody's sign-in made it: no advice to reset a password.
        assert!(!text.contains("reset"), "{text}");
        assert!(html.contains("ada+x@acme.io"), "{html}");
        assert!(notice.paced());
    }
}
