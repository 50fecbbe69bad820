//! Service environments: the env files a bridge node's three services (S3, GCS and
//! Azure Blob APIs) start with, set by their organization (`PUT
//! /organization/{idOrg}/node-env/{service}`) and fetched by its nodes' installer
//! (`POST /secrets`, encrypted to the key that signed the request).
//!
//! - [`envelope`]: the installer's wire envelope (RSA-OAEP key wrap, AES-256-CTR,
//!   HMAC-SHA256), exactly what `rollout_node.sh` decrypts with the openssl CLI.
//! - [`at_rest`]: how they are stored, sealed under the `NODE_ENV_KEY` Worker secret, so
//!   a copy of the D1 database alone does not reveal them.
//! - [`secrets_request`]: the `POST /secrets` body.

pub mod at_rest;
pub mod envelope;
pub mod secrets_request;

use crate::nodes::signed::{invalid, Invalid};
use serde_json::Value;

/// The node's services, in the order the installer asks for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    S3,
    Gcs,
    Blob,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::S3, Service::Gcs, Service::Blob];

    /// As in the path (`/node-env/{service}`), the store and the installer's field
    /// names (`env_<service>_enc`).
    pub fn as_str(self) -> &'static str {
        match self {
            Service::S3 => "s3",
            Service::Gcs => "gcs",
            Service::Blob => "blob",
        }
    }

    /// Exactly the lowercase names: a path segment is not case-folded anywhere else.
    pub fn parse(raw: &str) -> Result<Service, Invalid> {
        Service::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| invalid(UNKNOWN_SERVICE))
    }
}

pub const UNKNOWN_SERVICE: &str = "Unknown service: expected s3, gcs or blob";

/// The most an env file may hold: the installer's files are a few hundred bytes; 32 KiB
/// leaves room for certificates pasted inline, and keeps a row, its envelope and the
/// whole `/secrets` answer (three of them, base64) far below every platform limit.
pub const MAX_ENV_BYTES: usize = 32 * 1024;

/// An env file as an organization sets it: text (the installer writes it to disk and
/// appends its own lines), 1 byte to [`MAX_ENV_BYTES`], no NUL (a shell's `read` would
/// cut it there).
#[derive(Clone, PartialEq, Eq)]
pub struct EnvFile(String);

impl EnvFile {
    pub fn parse(text: String) -> Result<EnvFile, Invalid> {
        if text.is_empty() {
            return Err(invalid(
                "Invalid env: empty (DELETE the service's environment instead)",
            ));
        }
        if text.len() > MAX_ENV_BYTES {
            return Err(invalid(format!(
                "Invalid env: {} bytes, at most {MAX_ENV_BYTES}",
                text.len()
            )));
        }
        if text.contains('\0') {
            return Err(invalid("Invalid env: NUL characters are not allowed"));
        }
        Ok(EnvFile(text))
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Never printed: an env file holds the services' credentials.
impl std::fmt::Debug for EnvFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EnvFile({} bytes, redacted)", self.0.len())
    }
}

/// The `PUT` body: `{"env": "<file text>"}`; other fields are ignored.
pub fn parse_put(body: &[u8]) -> Result<EnvFile, Invalid> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| invalid("Invalid JSON body: expected {\"env\": \"<file text>\"}"))?;
    match value.get("env") {
        Some(Value::String(text)) => EnvFile::parse(text.clone()),
        Some(_) => Err(invalid("Invalid env: expected a string (the file's text)")),
        None => Err(invalid("Missing required field: env")),
    }
}

/// What `POST /secrets` answers with 404 when the organization has not set every
/// service's environment: which ones, and where to set them.
pub fn missing_message(missing: &[Service]) -> String {
    let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
    format!(
        "No service environment configured for {} in this organization: an OWNER or \
         ADMINISTRATOR sets each with PUT /organization/{{idOrg}}/node-env/{{service}} \
         (body {{\"env\": \"<file text>\"}}) or `gatehouse-cli admin node-env set`",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_are_exactly_the_three_lowercase_names() {
        for s in Service::ALL {
            assert_eq!(Service::parse(s.as_str()), Ok(s));
        }
        for bad in ["S3", "azure", "", "s3 ", "blob/x"] {
            assert_eq!(Service::parse(bad).unwrap_err().0, UNKNOWN_SERVICE, "{bad}");
        }
    }

    #[test]
    fn env_bodies_are_bounded_text() {
        let ok = parse_put(br#"{"env": "ACCESS_KEY=a\nSECRET=b\n"}"#).unwrap();
        assert_eq!(ok.as_bytes(), b"ACCESS_KEY=a\nSECRET=b\n");
        let max = "x".repeat(MAX_ENV_BYTES);
        assert!(parse_put(serde_json::json!({ "env": max }).to_string().as_bytes()).is_ok());
        let over = "x".repeat(MAX_ENV_BYTES + 1);
        let err = parse_put(serde_json::json!({ "env": over }).to_string().as_bytes()).unwrap_err();
        assert!(err.0.contains("at most 32768"), "{err:?}");
        for (body, says) in [
            (&b"not json"[..], "Invalid JSON body"),
            (br#"{"env": 5}"#, "expected a string"),
            (br#"{}"#, "Missing required field: env"),
            (br#"{"env": ""}"#, "empty"),
            (br#"{"env": "a\u0000b"}"#, "NUL"),
        ] {
            assert!(parse_put(body).unwrap_err().0.contains(says), "{says}");
        }
    }

    #[test]
    fn env_files_never_print() {
        let env = EnvFile::parse("SECRET=hunter2".into()).unwrap();
        assert!(!format!("{env:?}").contains("hunter2"));
    }

    #[test]
    fn the_missing_message_names_services_and_the_route() {
        let m = missing_message(&[Service::Gcs, Service::Blob]);
        assert!(
            m.contains("gcs, blob") && m.contains("PUT /organization/{idOrg}/node-env/{service}")
        );
    }
}
