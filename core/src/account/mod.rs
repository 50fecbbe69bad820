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

/// Most bytes of `deviceInfo` kept with a session (its JSON text).
pub const MAX_DEVICE_INFO_BYTES: usize = 2048;

/// Login's optional `deviceInfo` object (userAgent, os, browser, …) as compact JSON to
/// keep with the session; absent or null is `None`.
pub fn device_info(body: &[u8]) -> Result<Option<String>, AccountError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| AccountError::invalid_input("Body must be a JSON object"))?;
    match value.get("deviceInfo") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(info @ serde_json::Value::Object(_)) => {
            let text = info.to_string();
            if text.len() > MAX_DEVICE_INFO_BYTES {
                return Err(AccountError::invalid_input(format!(
                    "deviceInfo must be at most {MAX_DEVICE_INFO_BYTES} bytes of JSON"
                )));
            }
            Ok(Some(text))
        }
        Some(_) => Err(AccountError::invalid_input("deviceInfo must be an object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_info_is_an_optional_bounded_object() {
        assert_eq!(device_info(br#"{"email":"a"}"#).unwrap(), None);
        assert_eq!(
            device_info(br#"{"deviceInfo":{"os":"Linux"}}"#)
                .unwrap()
                .as_deref(),
            Some(r#"{"os":"Linux"}"#)
        );
        assert!(device_info(br#"{"deviceInfo":"x"}"#).is_err());
        let big = format!(r#"{{"deviceInfo":{{"a":"{}"}}}}"#, "x".repeat(3000));
        assert!(device_info(big.as_bytes()).is_err());
    }

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
