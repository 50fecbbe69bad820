//! Secrets in the configuration: `JWT_SECRET` (and a rotation's previous one) as
//! bytes that never print, checked for a minimum strength when parsed.

use super::ConfigError;
use std::fmt;

/// A secret value. Its `Debug` never prints the bytes, so it cannot leak via logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// `JWT_SECRET`'s public name (crate::crypto::key_id): after a rotation's first
    /// `secret put`, `GET /health` shows the previous secret's id equal to the current
    /// one's if the copy put there is the secret signing now.
    pub fn jwt_key_id(&self) -> String {
        crate::crypto::key_id(&self.0, "gatehouse jwt v1 key id")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Shortest accepted `JWT_SECRET`: HS256 keys should carry at least 256 bits.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

pub(super) fn jwt_secret(name: &'static str, raw: Option<String>) -> Result<Secret, ConfigError> {
    let Some(raw) = raw else {
        return Err(ConfigError {
            name,
            reason: "missing: run `make dev` locally (writes .dev.vars) or `wrangler secret put JWT_SECRET --env production`".into(),
        });
    };
    let bytes = raw.trim().as_bytes().to_vec();
    let distinct = bytes
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if bytes.len() < MIN_JWT_SECRET_BYTES || distinct < 8 {
        return Err(ConfigError {
            name,
            reason: format!(
                "too weak: use at least {MIN_JWT_SECRET_BYTES} random bytes (e.g. `openssl rand -hex 32`)"
            ),
        });
    }
    Ok(Secret(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwt_secrets_id_is_what_openssl_computes_from_its_value() {
        // printf %s 'gatehouse jwt v1 key id' | openssl dgst -sha256 -mac HMAC \
        //   -macopt key:"$JWT_SECRET" | awk '{print substr($NF,1,16)}'
        let id = |raw: &str| {
            jwt_secret("JWT_SECRET", Some(raw.into()))
                .unwrap()
                .jwt_key_id()
        };
        assert_eq!(
            id("old-secret-0123456789abcdef-0123456789"),
            "08dfdaebfdcf6f05"
        );
        assert_eq!(
            id("new-secret-fedcba9876543210-fedcba9876"),
            "19505b7396488af7"
        );
        // The value as the worker reads it: surrounding whitespace is not the secret's.
        assert_eq!(
            id(" new-secret-fedcba9876543210-fedcba9876\n"),
            "19505b7396488af7"
        );
    }
}
