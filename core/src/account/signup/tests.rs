use super::super::ErrorCode;
use super::*;
use serde_json::json;

fn signup(overrides: Value) -> Result<SignUp, AccountError> {
    let mut body = json!({
        "email": "ada@acme.io", "password": "Correct1horse", "firstName": "Ada", "lastName": "Lovelace",
        "companyName": "Acme", "isBusiness": true,
    });
    for (k, v) in overrides.as_object().unwrap() {
        body[k] = v.clone();
    }
    SignUp::parse(body.to_string().as_bytes())
}

#[test]
fn parses_a_complete_request() {
    let s = signup(json!({"companyWebsite": "https://www.Acme.io/about"})).unwrap();
    assert_eq!(s.email.as_str(), "ada@acme.io");
    assert_eq!(s.full_name(), "Ada Lovelace");
    assert_eq!(s.company_website.as_deref(), Some("acme.io"));
}

#[test]
fn invalid_input_names_the_field() {
    for (overrides, field) in [
        (json!({"email": 5}), "email"),
        (json!({"firstName": ""}), "firstName"),
        (json!({"lastName": "x".repeat(101)}), "lastName"),
        (json!({"companyName": null}), "companyName"),
        (json!({"isBusiness": "yes"}), "isBusiness"),
        (json!({"companyWebsite": "ftp://acme.io"}), "companyWebsite"),
        (json!({"companyWebsite": 42}), "companyWebsite"),
    ] {
        let err = signup(overrides).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(
            err.message.contains(field),
            "{} should name {field}",
            err.message
        );
    }
    assert_eq!(
        signup(json!({"email": "not-an-email"})).unwrap_err().code,
        ErrorCode::InvalidInput
    );
    assert_eq!(
        signup(json!({"password": "weak"})).unwrap_err().code,
        ErrorCode::WeakPassword
    );
    assert_eq!(
        SignUp::parse(b"[]").unwrap_err().code,
        ErrorCode::InvalidInput
    );
}

/// A form shows every problem at once, and a personal account needs no company.
#[test]
fn every_problem_at_once_and_no_company_for_a_personal_account() {
    let err =
        SignUp::parse(br#"{"email": "nope", "password": "weak", "isBusiness": true}"#).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    for field in [
        "Invalid email",
        "firstName",
        "lastName",
        "companyName",
        "uppercase",
    ] {
        assert!(err.message.contains(field), "{field}: {}", err.message);
    }
    let personal = signup(json!({"isBusiness": false, "companyName": null})).unwrap();
    assert_eq!(personal.company_name, "Ada Lovelace");
    assert_eq!(
        signup(json!({"isBusiness": false, "companyName": ""}))
            .unwrap()
            .company_name,
        "Ada Lovelace"
    );
    assert_eq!(
        signup(json!({"isBusiness": false})).unwrap().company_name,
        "Acme"
    );
    let business = signup(json!({"companyName": null})).unwrap_err();
    assert!(
        business
            .message
            .contains("required when isBusiness is true"),
        "{}",
        business.message
    );
    let empty = SignUp::parse(b"{}").unwrap_err();
    assert!(
        empty.message.contains("email is required")
            && empty.message.contains("isBusiness is required"),
        "{}",
        empty.message
    );
}

#[test]
fn website_hosts() {
    assert_eq!(website_host("acme.io").unwrap(), "acme.io");
    assert_eq!(
        website_host("HTTP://WWW.ACME.IO:8080/x?y#z").unwrap(),
        "acme.io"
    );
    for bad in [
        "https://",
        "https://user@acme.io",
        "javascript:alert(1)",
        "https://acme",
        "https://acme.io:x",
    ] {
        assert!(website_host(bad).is_err(), "{bad}");
    }
}

#[test]
fn org_domain_rules() {
    assert_eq!(
        signup(json!({})).unwrap().org_domain().as_deref(),
        Some("acme.io")
    );
    assert_eq!(
        signup(json!({"companyWebsite": "www.other.com"}))
            .unwrap()
            .org_domain()
            .as_deref(),
        Some("other.com")
    );
    assert_eq!(
        signup(json!({"isBusiness": false})).unwrap().org_domain(),
        None,
        "personal"
    );
}

#[test]
fn every_sign_up_founds_an_organization_that_may_claim_only_its_own_domain() {
    let s = signup(json!({})).unwrap();
    assert_eq!(
        pending_domain(&s, Some("acme.io"), false).as_deref(),
        Some("acme.io"),
        "the email is at the domain: pending, claimed or joined once verified"
    );
    // Website says other.com but the email is at acme.io: it may claim nothing.
    assert_eq!(pending_domain(&s, Some("other.com"), false), None);
    assert_eq!(pending_domain(&s, None, false), None);
}

#[test]
fn free_mail_domains_never_define_an_organization() {
    let s = signup(json!({"email": "ada@hotmail.co.uk"})).unwrap();
    assert_eq!(pending_domain(&s, Some("hotmail.co.uk"), true), None);
}
