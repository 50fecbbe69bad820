//! Errors of the account family: `{"success":false,"error_code":…,"message":…}`.

use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidInput,
    WeakPassword,
    EmailExistsActive,
    EmailExistsInactive,
    OrgBanned,
    InvalidCredentials,
    InvalidLink,
    LinkExpired,
    InvalidToken,
    TokenExpired,
    TokenReused,
    Unauthorized,
    /// A valid access token whose sign-in has ended (signed out, ended from another
    /// device, or every sign-in ended by a password reset).
    SessionEnded,
    EmailNotVerified,
    Forbidden,
    QuotaExceeded,
    NotFound,
    /// The public key is (or was) another organization's, or already active here.
    KeyExists,
    /// The change would leave the organization without an OWNER who can act (a verified
    /// one): another member must be made OWNER first.
    LastOwner,
    /// The member to remove is an OWNER (the caller included): an OWNER leaves only
    /// once made ADMINISTRATOR or MEMBER, which every other OWNER is told of.
    MemberIsOwner,
}

impl ErrorCode {
    /// Every code, for the contract test that holds `/openapi.json` to the code.
    pub const ALL: [ErrorCode; 20] = [
        ErrorCode::InvalidInput,
        ErrorCode::WeakPassword,
        ErrorCode::EmailExistsActive,
        ErrorCode::EmailExistsInactive,
        ErrorCode::OrgBanned,
        ErrorCode::InvalidCredentials,
        ErrorCode::InvalidLink,
        ErrorCode::LinkExpired,
        ErrorCode::InvalidToken,
        ErrorCode::TokenExpired,
        ErrorCode::TokenReused,
        ErrorCode::Unauthorized,
        ErrorCode::SessionEnded,
        ErrorCode::EmailNotVerified,
        ErrorCode::Forbidden,
        ErrorCode::QuotaExceeded,
        ErrorCode::NotFound,
        ErrorCode::KeyExists,
        ErrorCode::LastOwner,
        ErrorCode::MemberIsOwner,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "INVALID_INPUT",
            ErrorCode::WeakPassword => "WEAK_PASSWORD",
            ErrorCode::EmailExistsActive => "EMAIL_EXISTS_ACTIVE",
            ErrorCode::EmailExistsInactive => "EMAIL_EXISTS_INACTIVE",
            ErrorCode::OrgBanned => "ORG_BANNED",
            ErrorCode::InvalidCredentials => "INVALID_CREDENTIALS",
            ErrorCode::InvalidLink => "INVALID_LINK",
            ErrorCode::LinkExpired => "LINK_EXPIRED",
            ErrorCode::InvalidToken => "INVALID_TOKEN",
            ErrorCode::TokenExpired => "TOKEN_EXPIRED",
            ErrorCode::TokenReused => "TOKEN_REUSED",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::SessionEnded => "SESSION_ENDED",
            ErrorCode::EmailNotVerified => "EMAIL_NOT_VERIFIED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::QuotaExceeded => "QUOTA_EXCEEDED",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::KeyExists => "KEY_EXISTS",
            ErrorCode::LastOwner => "LAST_OWNER",
            ErrorCode::MemberIsOwner => "MEMBER_IS_OWNER",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidCredentials
            | ErrorCode::InvalidToken
            | ErrorCode::TokenExpired
            | ErrorCode::TokenReused
            | ErrorCode::Unauthorized
            | ErrorCode::SessionEnded => 401,
            ErrorCode::EmailNotVerified | ErrorCode::Forbidden | ErrorCode::OrgBanned => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::KeyExists | ErrorCode::LastOwner | ErrorCode::MemberIsOwner => 409,
            _ => 400,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountError {
    pub code: ErrorCode,
    pub message: String,
}

impl AccountError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> AccountError {
        AccountError {
            code,
            message: message.into(),
        }
    }

    pub fn invalid_input(message: impl Into<String>) -> AccountError {
        AccountError::new(ErrorCode::InvalidInput, message)
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }

    pub fn body(&self) -> Value {
        json!({"success": false, "error_code": self.code.as_str(), "message": self.message})
    }
}
