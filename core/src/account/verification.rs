//! Email-verification links — the secret (random, sent once, stored as a hash; refresh
//! tokens are stored the same way), the mail, the confirmation pages, the refusals.

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

/// Subject, text and HTML of the verification email.
pub fn verification_email(name: &str, link: &str) -> (String, String, String) {
    let subject = "Verify your email address".to_owned();
    let text = format!(
        "Hello {name},\n\nPlease confirm your email address by opening this link:\n\n{link}\n\n\
         The link works for 24 hours. If you did not sign up, ignore this message.\n"
    );
    let html = format!(
        "<!doctype html><html><body><p>Hello {},</p><p>Please confirm your email address:</p>\
         <p><a href=\"{link}\">Verify my email</a></p><p>The link works for 24 hours. If you did not \
         sign up, ignore this message.</p></body></html>",
        html_escape(name)
    );
    (subject, text, html)
}

/// The page the emailed link opens: it verifies nothing by itself. Mail scanners and
/// link previews fetch links (GET) without a person; only the button's POST consumes
/// the link, so a prefetch can neither verify an address nor burn its link.
pub fn confirm_page(token: &str) -> String {
    page(
        "Confirm your email address",
        &format!(
            "<p>Press the button to confirm this email address.</p>\
             <form method=\"post\" action=\"/user/verify-email\">\
             <input type=\"hidden\" name=\"token\" value=\"{}\">\
             <button type=\"submit\">Verify my email</button></form>",
            html_escape(token)
        ),
    )
}

/// A small HTML page (title and body HTML).
pub fn page(title: &str, body_html: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head>\
         <body><h1>{title}</h1>{body_html}</body></html>"
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
    fn the_confirm_page_posts_the_escaped_token() {
        let html = confirm_page("a\"b<c");
        assert!(html.contains("<form method=\"post\" action=\"/user/verify-email\">"));
        assert!(html.contains("value=\"a&quot;b&lt;c\""));
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
    fn email_carries_the_link_and_escapes_the_name() {
        let (_, text, html) =
            verification_email("<b>Ada</b>", "https://x/user/verify-email?token=t");
        assert!(text.contains("https://x/user/verify-email?token=t"));
        assert!(html.contains("&lt;b&gt;Ada"));
    }
}
