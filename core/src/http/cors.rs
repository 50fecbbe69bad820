//! CORS policy: which browser origins may call the API.
//!
//! Default: none (no CORS headers at all, so browsers allow same-origin calls only).
//! `CORS_ALLOWED_ORIGINS` lists exact origins (`https://app.example.com`, comma
//! separated). Credentials (cookies) are never involved: the API takes bearer tokens.

/// Headers a browser may send cross-origin.
pub const ALLOWED_HEADERS: &str = "authorization, content-type, accept, x-d1-bookmark";
/// Headers a cross-origin script may read.
pub const EXPOSED_HEADERS: &str = "x-gatehouse-key-id, retry-after, x-request-id, x-d1-bookmark";
/// How long a browser may cache a preflight answer, in seconds.
pub const PREFLIGHT_MAX_AGE: &str = "600";

/// Parses the `CORS_ALLOWED_ORIGINS` setting. Entries must be `scheme://host[:port]`.
pub fn parse_origins(raw: &str) -> Result<Vec<String>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            let valid = (o.starts_with("https://") || o.starts_with("http://"))
                && !o.ends_with('/')
                && o.split_once("://")
                    .is_some_and(|(_, rest)| !rest.is_empty() && !rest.contains('/'));
            if valid {
                Ok(o.to_ascii_lowercase())
            } else {
                Err(format!(
                    "{o:?} is not an origin like https://app.example.com"
                ))
            }
        })
        .collect()
}

/// The value for `Access-Control-Allow-Origin`, if `origin` may call the API.
pub fn allowed_origin<'o>(origin: Option<&'o str>, allowed: &[String]) -> Option<&'o str> {
    origin.filter(|o| allowed.iter().any(|a| a.eq_ignore_ascii_case(o)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_origins_only() {
        let allowed = parse_origins(" https://app.example.com, http://localhost:5173 ").unwrap();
        assert_eq!(
            allowed_origin(Some("https://app.example.com"), &allowed),
            Some("https://app.example.com")
        );
        assert_eq!(
            allowed_origin(Some("http://localhost:5173"), &allowed),
            Some("http://localhost:5173")
        );
        for other in [
            "https://evil.example.com",
            "https://app.example.com.evil.net",
            "null",
            "http://app.example.com",
        ] {
            assert_eq!(allowed_origin(Some(other), &allowed), None, "{other}");
        }
        assert_eq!(allowed_origin(None, &allowed), None);
        assert_eq!(
            allowed_origin(Some("https://app.example.com"), &[]),
            None,
            "default: no CORS"
        );
    }

    #[test]
    fn malformed_settings_are_errors() {
        assert_eq!(parse_origins("").unwrap(), Vec::<String>::new());
        for bad in [
            "*",
            "app.example.com",
            "https://app.example.com/",
            "https://x/path",
            "ftp://x",
        ] {
            assert!(parse_origins(bad).is_err(), "{bad}");
        }
    }
}
