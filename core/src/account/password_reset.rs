//! Password reset: a single-use link valid one hour, mailed to the account's address.
//! Its secret works like a verification link's (random, stored only as its SHA-256,
//! crate::account::verification); using it sets the new password and ends every
//! sign-in of the account.

use super::verification::{html_escape, page, password_field};

/// How long a reset link works.
pub const RESET_TTL_MS: i64 = 3600 * 1000;
/// A new reset mail goes out at most this often per account.
pub const RESET_INTERVAL_MS: i64 = 60 * 1000;

/// Subject, text and HTML of the reset email; `product` is the service's public URL.
/// No names: the address may not be verified (crate::account::verification).
pub fn reset_email(link: &str, product: &str) -> (String, String, String) {
    let subject = "Reset your password".to_owned();
    let text = format!(
        "Hello,\n\nSomeone asked to reset the password of your account at {product}.\n\
         To choose a new password, open this link:\n\n{link}\n\n\
         The link works once, for one hour. If you did not ask, ignore this message: your \
         password stays as it is.\n"
    );
    let html = format!(
        "<!doctype html><html><body><p>Hello,</p><p>Someone asked to reset the password of \
         your account at {}.</p><p><a href=\"{link}\">Choose a new password</a></p><p>The link \
         works once, for one hour. If you did not ask, ignore this message: your password \
         stays as it is.</p></body></html>",
        html_escape(product)
    );
    (subject, text, html)
}

/// The shortest password the policy accepts (crate::account::NewPassword), announced
/// on the page (`minlength` and the hint under the field).
pub const MIN_PASSWORD_CHARS: u8 = 8;

/// The page the emailed link opens: a form for the new password, posted with the
/// token (opening the link changes nothing).
pub fn reset_page(token: &str) -> String {
    page("Choose a new password", &reset_form(token, None))
}

/// The reset form; `error` (a password the policy refuses) is shown under the field,
/// so the form answers it with itself, ready to retry. `new-password`: password
/// managers offer to generate one and save it.
pub fn reset_form(token: &str, error: Option<&str>) -> String {
    format!(
        "<form method=\"post\" action=\"/user/reset-password\">\
         <input type=\"hidden\" name=\"token\" value=\"{}\">\
         {}<p><button type=\"submit\">Set the new password</button></p></form>",
        html_escape(token),
        password_field(
            "New password",
            "newPassword",
            "new-password",
            Some((
                MIN_PASSWORD_CHARS,
                "At least 8 characters, with an uppercase letter, a lowercase letter and a digit."
            )),
            error
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mail_names_the_product_and_the_link() {
        let (subject, text, html) = reset_email(
            "https://gh.example/user/reset-password?token=t",
            "https://gh.example",
        );
        assert_eq!(subject, "Reset your password");
        assert!(text.contains("https://gh.example/user/reset-password?token=t"));
        assert!(text.contains("at https://gh.example."));
        assert!(html.contains("at https://gh.example."));
        assert!(reset_page("a\"b").contains("value=\"a&quot;b\""));
    }

    #[test]
    fn the_page_announces_the_minimum_and_shows_a_refusal_under_the_field() {
        let html = reset_page("t");
        assert!(html.contains("<label for=\"newPassword\">New password</label>"));
        assert!(html.contains("autocomplete=\"new-password\""));
        assert!(html.contains("minlength=\"8\""));
        assert!(html.contains("aria-describedby=\"newPassword-hint\""));
        assert!(html.contains("At least 8 characters"));
        let refused = reset_form("t", Some("Too weak"));
        assert!(refused.contains("aria-describedby=\"newPassword-hint newPassword-error\""));
        assert!(refused.find("Error: Too weak").unwrap() < refused.find("<button").unwrap());
    }
}
