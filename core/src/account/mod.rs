//! People and their organizations: sign-up, email verification, login, tokens.

pub mod email;
pub mod error;
pub mod login_guard;
pub mod new_password;
pub mod password_reset;
pub mod roles;
pub mod signup;
pub mod tokens;
pub mod verification;

pub use email::Email;
pub use error::{AccountError, ErrorCode};
pub use new_password::NewPassword;

/// Reads `{"<name>": "<string>", …}` for the small account endpoints.
pub fn string_field(body: &[u8], name: &str) -> Result<String, AccountError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| AccountError::invalid_input("Body must be a JSON object"))?;
    match value.get(name) {
        Some(serde_json::Value::String(s)) if !s.is_empty() && s.len() <= 4096 => Ok(s.clone()),
        _ => Err(AccountError::invalid_input(format!(
            "{name} is required and must be a non-empty string"
        ))),
    }
}

/// The refresh token of `/user/refresh` and `/user/logout`: `refresh_token` (what the
/// Flashback client sends) or `refreshToken` (its docs, and gatehouse before).
pub fn refresh_token_field(body: &[u8]) -> Result<String, AccountError> {
    string_field(body, "refresh_token")
        .or_else(|_| string_field(body, "refreshToken"))
        .map_err(|_| {
            AccountError::invalid_input("refresh_token is required and must be a non-empty string")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refresh_token_in_either_spelling() {
        assert_eq!(
            refresh_token_field(br#"{"refresh_token":"a"}"#).unwrap(),
            "a"
        );
        assert_eq!(
            refresh_token_field(br#"{"refreshToken":"b"}"#).unwrap(),
            "b"
        );
        assert!(refresh_token_field(br#"{"token":"c"}"#).is_err());
        assert!(refresh_token_field(b"").is_err());
    }
}
