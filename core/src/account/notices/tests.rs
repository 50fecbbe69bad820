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

#[test]
fn a_key_proven_elsewhere_is_told_without_naming_anyone_of_the_other_organization() {
    let notice = Notice::KeyProvenElsewhere {
        org_id: "org-1",
        key_id: "key-9",
    };
    // Whoever the sender names (the other organization's uploader), the mail does not.
    for actor in [None, Some("mallory@other.example")] {
        let (subject, text, html) = notice_email(
            &notice,
            "2026-12-01T10:00:00.000Z",
            "https://gate.example.com",
            actor,
        );
        assert_eq!(subject, "A key of your organization was revoked");
        for needle in [
            "key key-9 of organization org-1",
            "another organization",
            "proof",
            "POST /organization/org-1/key",
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
        assert!(
            !text.contains("mallory") && !html.contains("mallory"),
            "{text}"
        );
        assert!(!text.contains("reset your password"), "{text}");
    }
    assert!(!notice.paced(), "bounded by the uploader's day of changes");
}
