//! People and their organizations: sign-up, email verification, login, tokens.

pub mod email;
pub mod error;
pub mod login_guard;
pub mod members;
pub mod new_password;
pub mod notices;
pub mod password_reset;
pub mod roles;
pub mod rows;
pub mod signup;
pub mod tokens;
pub mod verification;

pub use email::Email;
pub use error::{AccountError, ErrorCode};
pub use new_password::NewPassword;

/// At most this many one-time links of one kind (verification, password reset) are
/// sent to an account in any [`LINK_WINDOW_MS`], the sign-up's link included. A link a
/// minute alone would let a stranger asking from many networks mail a person's inbox
/// 1,440 times a day per kind, at the service's cost ($0.35 per 1,000) and sending
/// reputation; this holds it to 120, and a person whose mail is slow asks a few times,
/// under it. Past it the routes answer as always (no enumeration) and send nothing until
/// the oldest of the window's links has left it.
pub const LINKS_PER_WINDOW: i64 = 5;
/// At most this many links of one kind go, in any [`LINK_WINDOW_MS`], to the unverified
/// accounts at aliases of one mailbox (`ada+1@x`, `ada+2@x`, …: [`Email::inbox`]),
/// together. [`LINKS_PER_WINDOW`] bounds each account; without this, each new sign-up
/// at a new alias is a new account with a budget of its own, and strangers signing up
/// from many networks could aim verification mail at one mailbox without bound. A
/// verified account (its owner proved the mailbox) and an account at the mailbox's own
/// address are never held by it (only by their own bound), so aliases spent by a
/// stranger cannot keep an owner's reset mail away; what a stranger can delay is the
/// verification mail of a new sign-up at an alias, whose person can sign up at the
/// mailbox's own address instead.
pub const INBOX_LINKS_PER_WINDOW: i64 = 10;
/// The window [`LINKS_PER_WINDOW`] counts in: an hour, no longer than a reset link
/// lives, so a stranger spending the window cannot lock the owner out of recovery: the
/// last link sent still works until the window lets a new one go (a day's window would
/// have left the owner without a working reset link for ~23 hours).
pub const LINK_WINDOW_MS: i64 = 3600 * 1000;

/// The window `UNVERIFIED_MAIL_PER_HOUR` counts the deployment's mail to addresses
/// nobody has proven in (migration 0030): sign-ups' and resends' verification links,
/// the reset links of accounts never verified. Strangers may sign up with any address
/// from many networks; bounded as a whole, their mail cannot spend the sending quota
/// that security notices and verified accounts' resets need (those are not counted).
pub const UNVERIFIED_MAIL_WINDOW_MS: i64 = 3600 * 1000;

// Held at compile time: the last link of either kind outlives the window.
const _: () = assert!(
    LINK_WINDOW_MS <= password_reset::RESET_TTL_MS
        && LINK_WINDOW_MS <= verification::VERIFICATION_TTL_MS
);

/// The body as a JSON object, or an answer that says where the JSON broke and what
/// was expected (`expected`: the route's shape, e.g. `{"email": "…"}`). A PEM file
/// sent as the body (an easy mistake with `curl --data @key.pub.pem`) is named as such.
pub fn json_object(
    body: &[u8],
    expected: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, AccountError> {
    let trimmed = body.trim_ascii_start();
    if trimmed.starts_with(b"-----BEGIN") {
        return Err(AccountError::invalid_input(format!(
            "The body is PEM text, not JSON: send it inside a JSON object, {expected} \
             (jq -n --rawfile pem key.pub.pem '{{publicKey: $pem}}')"
        )));
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(AccountError::invalid_input(format!(
            "Body must be a JSON object: expected {expected}"
        ))),
        Err(e) => {
            let reason = e.to_string();
            let reason = reason.split(" at line ").next().unwrap_or("");
            Err(AccountError::invalid_input(format!(
                "Invalid JSON at line {} column {} ({reason}): expected {expected}",
                e.line(),
                e.column()
            )))
        }
    }
}

/// Reads `{"<name>": "<string>", …}` for the small account endpoints.
pub fn string_field(body: &[u8], name: &str) -> Result<String, AccountError> {
    let value = serde_json::Value::Object(json_object(body, &format!("{{\"{name}\": \"…\"}}"))?);
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
    let value = serde_json::Value::Object(json_object(
        body,
        r#"{"email": "…", "password": "…", "deviceInfo"?: {…}}"#,
    )?);
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

    /// A broken body is answered with where it broke and the shape expected.
    #[test]
    fn broken_json_says_where_and_what_was_expected() {
        let e = string_field(b"{\"email\": \"a@b.c\",}", "email").unwrap_err();
        assert_eq!(
            e.message,
            "Invalid JSON at line 1 column 19 (trailing comma): expected {\"email\": \"…\"}"
        );
        let e = string_field(b"{\n  \"email\" \"x\"\n}", "email").unwrap_err();
        assert!(
            e.message.starts_with("Invalid JSON at line 2 column 11"),
            "{}",
            e.message
        );
        let e = string_field(b"[1]", "email").unwrap_err();
        assert_eq!(
            e.message,
            "Body must be a JSON object: expected {\"email\": \"…\"}"
        );
        let e = string_field(b"-----BEGIN PUBLIC KEY-----\nMIIB\n", "publicKey").unwrap_err();
        assert!(
            e.message.starts_with("The body is PEM text, not JSON"),
            "{}",
            e.message
        );
        assert!(e.message.contains("--rawfile"), "{}", e.message);
        assert_eq!(string_field(br#"{"email": "x"}"#, "email").unwrap(), "x");
    }

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
