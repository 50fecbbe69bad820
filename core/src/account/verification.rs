//! Email-verification links — the secret (random, sent once, stored as a hash; refresh
//! tokens are stored the same way), the mail, the confirmation pages, the refusals.
//!
//! Verifying proves two things at once: the link (this mailbox) and the account's
//! password. Anyone can sign up with someone else's address; if the mailbox owner
//! could verify with the link alone, pressing the button in a mail they never asked
//! for would hand the sign-up's author a verified account (and, for a business
//! domain, the organization colleagues join). With the password required, whoever
//! signed up with an address they cannot read never gets it verified, and the mailbox
//! owner, who does not know that password, cannot verify it by accident; to take the
//! address over they reset the password (a mailed link too), which ends every earlier
//! sign-in, then verify with their own password.
//!
//! Mail and pages never carry what a sign-up typed (names, company): the mail goes to
//! an address nobody has proven yet, so it must not become a channel for a stranger's
//! words under the service's sender.

use super::{AccountError, ErrorCode};
use crate::crypto::{hex, random_bytes, sha256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// How long a verification link works.
pub const VERIFICATION_TTL_MS: i64 = 24 * 3600 * 1000;
/// A new link is sent at most this often per account.
pub const RESEND_INTERVAL_MS: i64 = 60 * 1000;

/// The JSON refusal of a verification link past [`VERIFICATION_TTL_MS`] (checking it
/// and using it answer alike).
pub fn expired_link() -> AccountError {
    AccountError::new(ErrorCode::LinkExpired, "This verification link has expired")
}

/// The JSON refusal of a verification link that is unknown or was already used.
pub fn unusable_link() -> AccountError {
    AccountError::new(
        ErrorCode::InvalidLink,
        "This verification link is not valid or was already used",
    )
}

/// A fresh 32-byte token (URL-safe base64) and the hash to store.
pub fn new_token() -> Result<(String, String), getrandom::Error> {
    let token = URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// What the database keeps instead of a token: SHA-256, hex. A leaked table does not
/// yield usable links; the token's 256 bits make a slow hash unnecessary.
pub fn token_hash(token: &str) -> String {
    hex(&sha256(token.as_bytes()))
}

/// What the mail and the page tell someone who did not sign up.
const NOT_YOU: &str = "If it was not you, do not use this link: without the password chosen at \
     sign-up nobody can verify the account, and an unverified account can change nothing. To \
     use this address yourself, ask for a password reset for it on the sign-in page; the reset \
     ends every sign-in of the account and the password becomes yours.";

/// Subject, text and HTML of the verification email; `product` is the service's
/// public URL. Nothing a sign-up typed is in it (module doc).
pub fn verification_email(link: &str, product: &str) -> (String, String, String) {
    let subject = "An account was created with this address".to_owned();
    // The link comes first: it is the only link the mail needs.
    let text = format!(
        "Hello,\n\nAn account was created with this email address. If it was you, open this \
         link and confirm with the password you chose:\n\n{link}\n\n\
         The account is at {product}; the link works for 24 hours. {NOT_YOU}\n"
    );
    let html = format!(
        "<!doctype html><html><body><p>Hello,</p><p>An account was created with this email \
         address. If it was you, open this link and confirm with the password you chose:</p>\
         <p><a href=\"{link}\">Verify my email</a></p><p>The account is at {}; the link works \
         for 24 hours. {NOT_YOU}</p></body></html>",
        html_escape(product)
    );
    (subject, text, html)
}

/// The page the emailed link opens: it verifies nothing by itself. Mail scanners and
/// link previews fetch links (GET) without a person; only the form's POST, with the
/// account's password, consumes the link, so a prefetch can neither verify an address
/// nor burn its link.
pub fn confirm_page(token: &str) -> String {
    page("Confirm your email address", &confirm_form(token, None))
}

/// The confirmation form; `error` (a wrong password) is shown under the field and
/// announced with it, so the form answers a mistake with itself, ready to retry.
/// `current-password`: the field asks for the existing password, so password managers
/// offer the saved one.
pub fn confirm_form(token: &str, error: Option<&str>) -> String {
    format!(
        "<p>An account was created with this email address. If it was you, enter the \
         password you chose at sign-up and press the button.</p>\
         <form method=\"post\" action=\"/user/verify-email\">\
         <input type=\"hidden\" name=\"token\" value=\"{}\">\
         {}<p><button type=\"submit\">Verify my email</button></p></form><p>{NOT_YOU}</p>",
        html_escape(token),
        password_field("Password", "password", "current-password", None, error)
    )
}

/// A labelled password field (`<label for>`), its hint and its error in the
/// paragraphs right under it, both tied to it by `aria-describedby`; `minlength` only
/// where a hint announces it (a new password).
pub fn password_field(
    label: &str,
    name: &str,
    autocomplete: &str,
    hint: Option<(u8, &str)>,
    error: Option<&str>,
) -> String {
    let mut described = Vec::new();
    let mut after = String::new();
    let mut extra = String::new();
    if let Some((min, text)) = hint {
        described.push(format!("{name}-hint"));
        extra.push_str(&format!(" minlength=\"{min}\""));
        after.push_str(&format!("<p id=\"{name}-hint\">{}</p>", html_escape(text)));
    }
    if let Some(text) = error {
        described.push(format!("{name}-error"));
        extra.push_str(" aria-invalid=\"true\" autofocus");
        after.push_str(&format!(
            "<p id=\"{name}-error\" role=\"alert\"><strong>Error: {}</strong></p>",
            html_escape(text)
        ));
    }
    if !described.is_empty() {
        extra.push_str(&format!(" aria-describedby=\"{}\"", described.join(" ")));
    }
    format!(
        "<p><label for=\"{name}\">{label}</label><br>\
         <input type=\"password\" id=\"{name}\" name=\"{name}\" \
         autocomplete=\"{autocomplete}\" required{extra}></p>{after}"
    )
}

/// A small HTML page (title and body HTML), readable at a phone's width without
/// styles (the pages' CSP allows none).
pub fn page(title: &str, body_html: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head><body><main><h1>{title}</h1>{body_html}</main></body></html>"
    )
}

pub fn html_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_confirm_page_posts_the_escaped_token_with_the_password() {
        let html = confirm_page("a\"b<c");
        assert!(html.contains("<form method=\"post\" action=\"/user/verify-email\">"));
        assert!(html.contains("value=\"a&quot;b&lt;c\""));
        assert!(html.contains("name=\"password\""));
        assert!(html.contains("If it was not you"));
        assert!(html.contains("<label for=\"password\">Password</label>"));
        assert!(html.contains("autocomplete=\"current-password\""));
        assert!(!html.contains("aria-invalid"));
    }

    #[test]
    fn a_refused_password_is_shown_under_its_field() {
        let html = confirm_form("t", Some("Not <it>"));
        let field = html.find("id=\"password\"").unwrap();
        let error = html.find("id=\"password-error\"").unwrap();
        assert!(field < error && error < html.find("<button").unwrap());
        assert!(html.contains("aria-describedby=\"password-error\""));
        assert!(html.contains("aria-invalid=\"true\""));
        assert!(html.contains("Error: Not &lt;it&gt;"));
    }

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let (a, ha) = new_token().unwrap();
        let (b, _) = new_token().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(ha, token_hash(&a));
        assert_ne!(ha, a);
    }

    #[test]
    fn the_email_carries_the_link_says_what_happened_and_nothing_typed() {
        let (subject, text, html) =
            verification_email("https://x/user/verify-email?token=t", "https://x");
        assert_eq!(subject, "An account was created with this address");
        for body in [&text, &html] {
            assert!(body.contains("https://x/user/verify-email?token=t"));
            assert!(body.contains("An account was created with this email address"));
            assert!(body.contains("The account is at https://x;"));
            assert!(body.contains("If it was not you"));
            assert!(body.contains("password reset"));
        }
    }
}
