//! The OpenAPI 3.1 document served at `GET /openapi.json`.
//!
//! Kept as JSON (`core/openapi.json`) so it reads like the contract it is; served as
//! the same document without its indentation (core/build.rs). The tests below hold it
//! to the route table: every documented route is described with its method, and
//! nothing else is, so the document always says what the worker does.

pub const OPENAPI_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.min.json"));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::routes::ROUTES;
    use serde_json::Value;
    use std::collections::BTreeSet;

    fn document() -> Value {
        serde_json::from_str(OPENAPI_JSON).expect("openapi.json is valid JSON")
    }

    #[test]
    fn the_served_document_is_the_source_without_its_indentation() {
        let source: Value = serde_json::from_str(include_str!("../../openapi.json"))
            .expect("core/openapi.json is valid JSON");
        assert_eq!(document(), source);
        assert!(!OPENAPI_JSON.contains("\n  "), "indentation served");
        assert!(
            OPENAPI_JSON.contains("\"summary\":\"Remove a member who is no OWNER"),
            "strings keep their spaces"
        );
    }

    #[test]
    fn is_openapi_3_1_with_our_version() {
        let doc = document();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
        assert_eq!(doc["info"]["version"], crate::VERSION);
    }

    #[test]
    fn describes_exactly_the_documented_routes() {
        let doc = document();
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| k.as_str() != "parameters")
                    .map(move |method| (path.clone(), method.to_uppercase()))
            })
            .collect();
        let served: BTreeSet<(String, String)> = ROUTES
            .iter()
            .filter(|r| !r.test_hook)
            .map(|r| (r.pattern.to_owned(), r.method.as_str().to_owned()))
            .collect();
        assert_eq!(documented, served);
    }

    #[test]
    fn rate_limited_routes_document_429_and_every_api_route_its_500() {
        let doc = document();
        for route in ROUTES.iter().filter(|r| !r.test_hook) {
            let method = route.method.as_str().to_lowercase();
            let responses = &doc["paths"][route.pattern][&method]["responses"];
            let limited = !crate::http::rate_limit::per_ip(route.id, "203.0.113.1").is_empty()
                || crate::http::rate_limit::counts_signed_in(route.id)
                || crate::http::rate_limit::LIMITED_IN_HANDLER.contains(&route.id);
            assert_eq!(
                responses.get("429").is_some(),
                limited,
                "{method} {} and its rate limit",
                route.pattern
            );
            if route.pattern != "/openapi.json" {
                assert!(
                    responses.get("500").is_some(),
                    "{method} {} 500",
                    route.pattern
                );
            }
        }
    }

    #[test]
    fn the_account_error_enum_lists_exactly_the_codes_the_worker_emits() {
        use crate::account::ErrorCode;
        use crate::http::problem::Problem;
        // A new variant of either enum must be added to its list (and so here).
        for code in ErrorCode::ALL {
            match code {
                ErrorCode::InvalidInput
                | ErrorCode::WeakPassword
                | ErrorCode::EmailExistsActive
                | ErrorCode::EmailExistsInactive
                | ErrorCode::OrgBanned
                | ErrorCode::InvalidCredentials
                | ErrorCode::InvalidLink
                | ErrorCode::LinkExpired
                | ErrorCode::InvalidToken
                | ErrorCode::TokenExpired
                | ErrorCode::TokenReused
                | ErrorCode::Unauthorized
                | ErrorCode::SessionEnded
                | ErrorCode::EmailNotVerified
                | ErrorCode::Forbidden
                | ErrorCode::QuotaExceeded
                | ErrorCode::NotFound
                | ErrorCode::KeyExists
                | ErrorCode::LastOwner
                | ErrorCode::MemberIsOwner => {}
            }
        }
        let emitted: BTreeSet<String> = ErrorCode::ALL
            .iter()
            .map(|c| c.as_str().to_owned())
            .chain(Problem::EXAMPLES.iter().map(|p| p.error_code().to_owned()))
            .collect();
        let doc = document();
        let documented: BTreeSet<String> = doc["components"]["schemas"]["AccountError"]
            ["properties"]["error_code"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(documented, emitted);
    }

    #[test]
    fn every_local_reference_resolves() {
        let doc = document();
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let pointer = r.strip_prefix('#').expect("only local $refs");
            assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
        }
    }

    fn collect_refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("$ref", Value::String(s)) => out.push(s.clone()),
                        _ => collect_refs(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }
}
