//! The route table's matching: methods, paths, placeholders, the test hooks.

use super::*;

#[test]
fn finds_routes_by_method_and_path() {
    assert_eq!(
        match_route(Some(Method::Get), "/health", false),
        RouteMatch::Found {
            id: RouteId::Health,
            family: Family::Common,
            params: vec![]
        }
    );
}

#[test]
fn wrong_method_lists_the_allowed_ones() {
    assert_eq!(
        match_route(Some(Method::Delete), "/health", false),
        RouteMatch::MethodNotAllowed {
            family: Family::Common,
            allow: vec![Method::Get]
        }
    );
    assert_eq!(
        match_route(None, "/openapi.json", false),
        RouteMatch::MethodNotAllowed {
            family: Family::Common,
            allow: vec![Method::Get]
        }
    );
}

#[test]
fn unknown_paths_and_near_misses_are_not_found() {
    assert_eq!(
        match_route(Some(Method::Get), "/", false),
        RouteMatch::Found {
            id: RouteId::Index,
            family: Family::Common,
            params: vec![]
        }
    );
    for path in ["/nope", "/health/", "/healthz", "//health", "//"] {
        assert_eq!(
            match_route(Some(Method::Get), path, false),
            RouteMatch::NotFound,
            "{path}"
        );
    }
}

#[test]
fn test_hooks_are_invisible_unless_enabled() {
    for path in ["/__test/panic", "/__test/clock"] {
        assert_eq!(
            match_route(Some(Method::Post), path, false),
            RouteMatch::NotFound
        );
    }
    assert!(matches!(
        match_route(Some(Method::Post), "/__test/panic", true),
        RouteMatch::Found {
            id: RouteId::TestPanic,
            ..
        }
    ));
}

#[test]
fn placeholders_capture_one_non_empty_segment() {
    assert_eq!(
        match_pattern("/a/{id}/b", "/a/42/b"),
        Some(vec![("id", "42")])
    );
    assert_eq!(match_pattern("/a/{id}/b", "/a//b"), None);
    assert_eq!(match_pattern("/a/{id}/b", "/a/4/2/b"), None);
}

#[test]
fn method_tokens_round_trip() {
    for m in ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] {
        assert_eq!(Method::parse(m).unwrap().as_str(), m);
    }
    assert_eq!(Method::parse("get"), None);
    assert_eq!(Method::parse("BREW"), None);
}

#[test]
fn organization_routes_are_logged_by_their_own_names() {
    assert_eq!(RouteId::Org(OrgRoute::CreateOrgKey).name(), "CreateOrgKey");
    assert_eq!(RouteId::Register.name(), "Register");
}
