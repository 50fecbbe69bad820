//! Which requests are rate limited, and under which keys.
//!
//! Limits live in wrangler.toml (`[[ratelimits]]`, Workers' rate-limiting binding):
//! `AUTH_LIMITER` (10 a minute) for people — sign-up, login, resend, password reset,
//! email verification (and checking a verification link) — and
//! `NODE_LIMITER` (60 a minute) for machines — /register, /unregister,
//! /register_node_secret — and, on its own key, the public node directory.
//! Keys are per client network (`CF-Connecting-IP`): an IPv4 address, or the /64 of
//! an IPv6 one — a single IPv6 client usually holds a whole /64, so keying on the
//! address would hand it 2^64 budgets.
//!
//! One /64 is still too small a unit for whoever holds a /48 (a tunnel broker's or a
//! host's allocation: 65,536 of them), so an IPv6 client's people routes also count
//! against its /48 in `AUTH_WIDE_LIMITER` (100 a minute: ten /64s at full pace), and
//! `/register_node_secret`, which anyone may use to add rows, against its /48 in
//! `NODE_WIDE_LIMITER` (600 a minute). The signed node routes count against their /48
//! in `NODE_FLEET_LIMITER`, at a fleet's pace (3,000 a minute: 15,000 nodes in one
//! operator's /48 heartbeating every 5 minutes): a forged request costs no RSA check
//! and no row, but it does cost a read on the D1 primary (the organization's keys,
//! before any signature is tried), whose one thread a stranger's 65,536 /64s at 60 a
//! minute each would otherwise fill. IPv4 keeps one budget per address (a /24 is 256
//! of them, and addresses are scarce enough that one client seldom holds many).
//!
//! What a signed-in client calls — refresh, logout, the profile, the sign-in list and
//! its end, every `/organization/{idOrg}/…` route — counts in `SIGNED_IN_LIMITER` (300 a
//! minute per network: a dashboard's pace, and an office of them behind one address)
//! and per /48 in `SIGNED_IN_WIDE_LIMITER` (3,000), once its token verifies and before
//! anything is read ([`signed_in`]). Each such request reads the D1 primary (the
//! sign-in, then the route's own reads and writes), and anyone who signs up holds a
//! token: without a budget, one address looping them would fill the primary's one
//! thread as a /48's forged heartbeats would. A request without a token, or with one
//! we did not sign, is refused 401 on CPU alone (an HMAC) and spends nothing.

use crate::http::routes::{OrgRoute, RouteId};
use std::net::IpAddr;

pub const AUTH_LIMITER: &str = "AUTH_LIMITER";
pub const NODE_LIMITER: &str = "NODE_LIMITER";
pub const AUTH_WIDE_LIMITER: &str = "AUTH_WIDE_LIMITER";
pub const NODE_WIDE_LIMITER: &str = "NODE_WIDE_LIMITER";
pub const NODE_FLEET_LIMITER: &str = "NODE_FLEET_LIMITER";
pub const SIGNED_IN_LIMITER: &str = "SIGNED_IN_LIMITER";
pub const SIGNED_IN_WIDE_LIMITER: &str = "SIGNED_IN_WIDE_LIMITER";
/// Every limiter counts per 60-second period; a refused client may retry after it.
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

/// The /48 an IPv6 client address belongs to (its wider budget's key); `None` for
/// IPv4 (an IPv4-mapped address included) and for anything unparsable.
pub fn wide_network(client_ip: &str) -> Option<String> {
    match client_ip
        .trim()
        .parse::<IpAddr>()
        .map(|ip| ip.to_canonical())
    {
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            Some(format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]))
        }
        _ => None,
    }
}

/// Whether `route` is a signed-in client's call, which counts [`signed_in`]'s budget
/// once its token verifies.
pub fn counts_signed_in(route: RouteId) -> bool {
    matches!(
        route,
        RouteId::Refresh
            | RouteId::Logout
            | RouteId::Profile
            | RouteId::ListTokens
            | RouteId::RevokeToken
            | RouteId::Org(_)
    )
}

/// The counts a signed-in client's call from `client_ip` makes once its token (access
/// or refresh) verifies: one budget for all of them, per network and per /48.
pub fn signed_in(client_ip: &str) -> Vec<Budget> {
    budgets(
        SIGNED_IN_LIMITER,
        "signedin",
        Some(SIGNED_IN_WIDE_LIMITER),
        client_ip,
    )
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

/// One count a request makes: the limiter that keeps it and the key it counts under.
pub type Budget = (&'static str, String);

/// The counts a request to `route` from `client_ip` makes, in the order they are
/// checked (its network's first, so that a refused /64 stops spending its /48's);
/// empty if the route is not limited here.
pub fn per_ip(route: RouteId, client_ip: &str) -> Vec<Budget> {
    let (limiter, name, wide) = match route {
        RouteId::UserRegister => (AUTH_LIMITER, "signup", Some(AUTH_WIDE_LIMITER)),
        RouteId::Login => (AUTH_LIMITER, "login", Some(AUTH_WIDE_LIMITER)),
        RouteId::ResendVerification | RouteId::ResendVerificationById => {
            (AUTH_LIMITER, "resend", Some(AUTH_WIDE_LIMITER))
        }
        // Like resend: each request may send mail; a reset may try a token.
        RouteId::RequestPasswordReset | RouteId::ResetPassword => {
            (AUTH_LIMITER, "reset", Some(AUTH_WIDE_LIMITER))
        }
        // Each tries a link on the primary; verifying also runs the password KDF.
        RouteId::VerifyEmail | RouteId::PreVerifyEmail => {
            (AUTH_LIMITER, "verify", Some(AUTH_WIDE_LIMITER))
        }
        // Anyone may add a row here: the /48 is bounded too.
        RouteId::RegisterNodeSecret => (NODE_LIMITER, "node", Some(NODE_WIDE_LIMITER)),
        // One budget per node address across the signed routes, and a fleet's per /48.
        RouteId::Register | RouteId::Unregister | RouteId::NodeSecrets => {
            (NODE_LIMITER, "node", Some(NODE_FLEET_LIMITER))
        }
        // The public directory: anyone may read it, at a machine's pace.
        RouteId::NodeDirectory => (NODE_LIMITER, "directory", None),
        // A signed-in client's calls count once their token verifies: signed_in.
        _ => return Vec::new(),
    };
    budgets(limiter, name, wide, client_ip)
}

/// `name`'s count under `limiter` for `client_ip`'s network, then (IPv6) under `wide`
/// for its /48.
fn budgets(
    limiter: &'static str,
    name: &str,
    wide: Option<&'static str>,
    client_ip: &str,
) -> Vec<Budget> {
    let mut budgets = vec![(limiter, format!("{name}:ip:{}", client_network(client_ip)))];
    if let (Some(wide), Some(net48)) = (wide, wide_network(client_ip)) {
        budgets.push((wide, format!("{name}:net48:{net48}")));
    }
    budgets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_routes_and_keys() {
        assert_eq!(
            per_ip(RouteId::Login, "203.0.113.9"),
            vec![(AUTH_LIMITER, "login:ip:203.0.113.9".into())]
        );
        assert_eq!(
            per_ip(RouteId::Register, "::1")[0],
            per_ip(RouteId::RegisterNodeSecret, "::1")[0]
        );
        assert_eq!(per_ip(RouteId::Register, "::1")[0].0, NODE_LIMITER);
        assert_eq!(per_ip(RouteId::Health, "::1"), vec![]);
        // Verifying and checking a link share one budget of people's pace.
        assert_eq!(
            per_ip(RouteId::VerifyEmail, "203.0.113.9"),
            vec![(AUTH_LIMITER, "verify:ip:203.0.113.9".into())]
        );
        assert_eq!(
            per_ip(RouteId::PreVerifyEmail, "203.0.113.9"),
            per_ip(RouteId::VerifyEmail, "203.0.113.9")
        );
        assert_eq!(per_ip(RouteId::VerifyEmailPage, "::1"), vec![]);
        assert_eq!(per_ip(RouteId::OpenApi, "::1"), vec![]);
    }

    #[test]
    fn a_signed_in_clients_calls_share_one_budget_per_network_and_per_48() {
        use crate::http::routes::OrgRoute;
        let ip = "2001:db8:5:6::1";
        let budget = vec![
            (
                SIGNED_IN_LIMITER,
                "signedin:ip:2001:db8:5:6::/64".to_owned(),
            ),
            (
                SIGNED_IN_WIDE_LIMITER,
                "signedin:net48:2001:db8:5::/48".to_owned(),
            ),
        ];
        for route in [
            RouteId::Refresh,
            RouteId::Logout,
            RouteId::Profile,
            RouteId::ListTokens,
            RouteId::RevokeToken,
            RouteId::Org(OrgRoute::ListOrgNodes),
            RouteId::Org(OrgRoute::DeleteOrgNode),
            RouteId::Org(OrgRoute::CreateOrgKey),
        ] {
            assert!(counts_signed_in(route), "{route:?}");
            // Counted once the token verifies, not before.
            assert_eq!(per_ip(route, ip), vec![], "{route:?}");
        }
        assert_eq!(signed_in(ip), budget);
        assert_eq!(
            signed_in("203.0.113.9"),
            vec![(SIGNED_IN_LIMITER, "signedin:ip:203.0.113.9".into())]
        );
        for route in [
            RouteId::Login,
            RouteId::Register,
            RouteId::NodeDirectory,
            RouteId::Health,
        ] {
            assert!(!counts_signed_in(route), "{route:?}");
        }
        // Not the people routes' budgets: a dashboard's calls spend no sign-up or login.
        assert_ne!(per_ip(RouteId::Login, ip)[0], budget[0]);
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

    #[test]
    fn ipv6_clients_also_count_against_their_48_on_open_routes() {
        assert_eq!(
            wide_network("2001:db8:1:2:aaaa::1").as_deref(),
            Some("2001:db8:1::/48")
        );
        assert_eq!(wide_network("198.51.100.7"), None);
        assert_eq!(wide_network("::ffff:198.51.100.7"), None);
        assert_eq!(wide_network("unknown"), None);
        // The /64's count first, then the /48's, on a key of the route's own.
        assert_eq!(
            per_ip(RouteId::Login, "2001:db8:1:2::1"),
            vec![
                (AUTH_LIMITER, "login:ip:2001:db8:1:2::/64".into()),
                (AUTH_WIDE_LIMITER, "login:net48:2001:db8:1::/48".into()),
            ]
        );
        // Two /64s of one /48 share the wider budget, not the narrow one.
        let (a, b) = (
            per_ip(RouteId::UserRegister, "2001:db8:1:2::1"),
            per_ip(RouteId::UserRegister, "2001:db8:1:3::1"),
        );
        assert_ne!(a[0], b[0]);
        assert_eq!(a[1], b[1]);
        assert_eq!(
            per_ip(RouteId::RegisterNodeSecret, "2001:db8:1:2::1")[1],
            (NODE_WIDE_LIMITER, "node:net48:2001:db8:1::/48".into())
        );
        // The signed routes share a fleet's budget per /48, on its own limiter.
        for route in [RouteId::Register, RouteId::Unregister, RouteId::NodeSecrets] {
            assert_eq!(
                per_ip(route, "2001:db8:1:2::1"),
                vec![
                    (NODE_LIMITER, "node:ip:2001:db8:1:2::/64".into()),
                    (NODE_FLEET_LIMITER, "node:net48:2001:db8:1::/48".into()),
                ],
                "{route:?}"
            );
        }
        // The directory keeps one budget per /64.
        assert_eq!(per_ip(RouteId::NodeDirectory, "2001:db8:1:2::1").len(), 1);
        // Every people route counts its /48.
        for route in [
            RouteId::ResendVerification,
            RouteId::ResendVerificationById,
            RouteId::RequestPasswordReset,
            RouteId::ResetPassword,
            RouteId::VerifyEmail,
            RouteId::PreVerifyEmail,
        ] {
            assert_eq!(
                per_ip(route, "2001:db8:1:2::1")[1].0,
                AUTH_WIDE_LIMITER,
                "{route:?}"
            );
        }
    }
}
