//! Which requests are rate limited, and under which key.
//!
//! Limits live in wrangler.toml (`[[ratelimits]]`, Workers' rate-limiting binding):
//! `AUTH_LIMITER` (10 a minute) for people — sign-up, login, resend, password reset,
//! email verification (and checking a verification link) — and
//! `NODE_LIMITER` (60 a minute) for machines — /register, /unregister,
//! /register_node_secret — and, on its own key, the public node directory.
//! Keys are per client network (`CF-Connecting-IP`): an IPv4 address, or the /64 of
//! an IPv6 one — a single IPv6 client usually holds a whole /64, so keying on the
//! address would hand it 2^64 budgets.

use crate::http::routes::{OrgRoute, RouteId};
use std::net::IpAddr;

pub const AUTH_LIMITER: &str = "AUTH_LIMITER";
pub const NODE_LIMITER: &str = "NODE_LIMITER";
/// Both limiters count per 60-second period; a refused client may retry after it.
pub const PERIOD_SECONDS: u32 = 60;

/// The network a client address stands for: IPv4 (an IPv4-mapped IPv6 address
/// folded) as is, IPv6 as its /64. Anything unparsable is kept verbatim.
pub fn client_network(client_ip: &str) -> String {
    match client_ip
        .trim()
        .parse::<IpAddr>()
        .map(|ip| ip.to_canonical())
    {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Err(_) => client_ip.to_owned(),
    }
}

/// Routes whose handler limits some requests itself, after authorizing them (key
/// generation: per organization and per client network, only for requests that
/// would generate; adding a key, setting an environment, granting a role or removing
/// a member: the organization's day of changes, core::org_changes), so their 429 is
/// documented though `per_ip` passes them.
pub const LIMITED_IN_HANDLER: &[RouteId] = &[
    RouteId::Org(OrgRoute::CreateOrgKey),
    RouteId::Org(OrgRoute::SetNodeEnv),
    RouteId::Org(OrgRoute::SetMemberRole),
    RouteId::Org(OrgRoute::RemoveMember),
];

/// The limiter and key for a request to `route` from `client_ip`, if it is limited.
pub fn per_ip(route: RouteId, client_ip: &str) -> Option<(&'static str, String)> {
    let (limiter, name) = match route {
        RouteId::UserRegister => (AUTH_LIMITER, "signup"),
        RouteId::Login => (AUTH_LIMITER, "login"),
        RouteId::ResendVerification | RouteId::ResendVerificationById => (AUTH_LIMITER, "resend"),
        // Like resend: each request may send mail; a reset may try a token.
        RouteId::RequestPasswordReset | RouteId::ResetPassword => (AUTH_LIMITER, "reset"),
        // Each tries a link on the primary; verifying also runs the password KDF.
        RouteId::VerifyEmail | RouteId::PreVerifyEmail => (AUTH_LIMITER, "verify"),
        // One budget per node address across the machine routes.
        RouteId::Register
        | RouteId::Unregister
        | RouteId::RegisterNodeSecret
        | RouteId::NodeSecrets => (NODE_LIMITER, "node"),
        // The public directory: anyone may read it, at a machine's pace.
        RouteId::NodeDirectory => (NODE_LIMITER, "directory"),
        _ => return None,
    };
    Some((limiter, format!("{name}:ip:{}", client_network(client_ip))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_routes_and_keys() {
        assert_eq!(
            per_ip(RouteId::Login, "203.0.113.9"),
            Some((AUTH_LIMITER, "login:ip:203.0.113.9".into()))
        );
        assert_eq!(
            per_ip(RouteId::Register, "::1"),
            per_ip(RouteId::RegisterNodeSecret, "::1")
        );
        assert_eq!(per_ip(RouteId::Register, "::1").unwrap().0, NODE_LIMITER);
        assert_eq!(per_ip(RouteId::Health, "::1"), None);
        // Verifying and checking a link share one budget of people's pace.
        assert_eq!(
            per_ip(RouteId::VerifyEmail, "203.0.113.9"),
            Some((AUTH_LIMITER, "verify:ip:203.0.113.9".into()))
        );
        assert_eq!(
            per_ip(RouteId::PreVerifyEmail, "203.0.113.9"),
            per_ip(RouteId::VerifyEmail, "203.0.113.9")
        );
        assert_eq!(per_ip(RouteId::VerifyEmailPage, "::1"), None);
        assert_eq!(per_ip(RouteId::OpenApi, "::1"), None);
    }

    #[test]
    fn ipv6_clients_are_keyed_on_their_64() {
        assert_eq!(client_network("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            per_ip(RouteId::Login, "2001:db8:1:2:aaaa::1"),
            per_ip(RouteId::Login, "2001:DB8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_ne!(
            per_ip(RouteId::Login, "2001:db8:1:2::1"),
            per_ip(RouteId::Login, "2001:db8:1:3::1")
        );
        assert_eq!(client_network("::ffff:198.51.100.7"), "198.51.100.7");
        assert_eq!(client_network("198.51.100.7"), "198.51.100.7");
        assert_eq!(client_network("unknown"), "unknown");
    }
}
