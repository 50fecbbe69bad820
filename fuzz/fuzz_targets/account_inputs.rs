//! Sign-up bodies and the account newtypes: `SignUp::parse`, `Email::parse`,
//! `NewPassword::parse`, `website_host`. Never a panic; parsed emails are lowercase
//! and parse again to themselves.
#![no_main]
use gatehouse_core::account::email::Email;
use gatehouse_core::account::new_password::NewPassword;
use gatehouse_core::account::signup::{website_host, SignUp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = SignUp::parse(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(email) = Email::parse(text) {
        assert_eq!(email.as_str(), email.as_str().to_ascii_lowercase());
        let again = Email::parse(email.as_str()).expect("a parsed email parses again");
        assert_eq!(again.as_str(), email.as_str());
    }
    let _ = NewPassword::parse(text);
    let _ = website_host(text);
});
