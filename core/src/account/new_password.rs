//! `NewPassword`: a password that meets the sign-up rules, parsed once.

use super::{AccountError, ErrorCode};

pub const MIN_CHARS: usize = 8;
/// PBKDF2 hashes any length, but an upper bound keeps a request's CPU bounded.
pub const MAX_BYTES: usize = 256;

pub struct NewPassword(String);

impl NewPassword {
    /// Checks every rule and reports every unmet one in one message.
    pub fn parse(raw: &str) -> Result<NewPassword, AccountError> {
        let mut unmet = Vec::new();
        if raw.chars().count() < MIN_CHARS {
            unmet.push("be at least 8 characters long");
        }
        if raw.len() > MAX_BYTES {
            unmet.push("be at most 256 bytes long");
        }
        if !raw.chars().any(char::is_uppercase) {
            unmet.push("contain an uppercase letter");
        }
        if !raw.chars().any(char::is_lowercase) {
            unmet.push("contain a lowercase letter");
        }
        if !raw.chars().any(|c| c.is_ascii_digit()) {
            unmet.push("contain a digit");
        }
        if unmet.is_empty() {
            Ok(NewPassword(raw.to_owned()))
        } else {
            Err(AccountError::new(
                ErrorCode::WeakPassword,
                format!("Password must {}", unmet.join(", ")),
            ))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_password_meeting_every_rule() {
        assert!(NewPassword::parse("Correct1horse").is_ok());
    }

    #[test]
    fn lists_every_unmet_rule() {
        let err = NewPassword::parse("abc").unwrap_err();
        assert_eq!(err.code, ErrorCode::WeakPassword);
        assert_eq!(err.message, "Password must be at least 8 characters long, contain an uppercase letter, contain a digit");
        let err = NewPassword::parse(&format!("Aa1{}", "x".repeat(300))).unwrap_err();
        assert_eq!(err.message, "Password must be at most 256 bytes long");
        assert!(!format!("{:?}", NewPassword::parse("Correct1horse").unwrap()).contains("horse"));
    }
}
