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
    /// A key of the organization, uploaded without a proof of possession, was revoked
    /// because another organization uploaded the same key with one (a key belongs to
    /// one organization at a time); to the OWNERs. Its nodes no longer verify with it.
    /// Named by nothing of the other organization: its members' addresses are its own.
    KeyProvenElsewhere { org_id: &'a str, key_id: &'a str },
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
        Notice::KeyProvenElsewhere { org_id, key_id } => (
            "A key of your organization was revoked",
            format!(
                "the key {key_id} of organization {org_id}, uploaded without a proof of \
                 possession, was revoked: another organization uploaded the same key with \
                 a proof that it holds the private half, and a key belongs to one \
                 organization at a time. Node registrations signed with it no longer verify \
                 for your organization"
            ),
            format!(
                "generate a new key (POST /organization/{org_id}/key with no body) or upload \
                 one with a proof of possession, and sign your nodes' registrations with it"
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
        // No account of this organization acted: another organization's upload did.
        (Notice::KeyProvenElsewhere { .. }, _) => (
            "another organization's upload".to_owned(),
            "If the key is yours, its private half is not only yours (or the other \
             organization's proof came from someone who has it):"
                .to_owned(),
        ),
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
mod tests;
