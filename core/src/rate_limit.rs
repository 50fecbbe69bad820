//! Which requests are rate limited, and under which key.
//!
//! Limits live in wrangler.toml (`[[ratelimits]]`, Workers' rate-limiting binding):
//! `AUTH_LIMITER` (10 a minute) for people — sign-up, login, resend — and
//! `NODE_LIMITER` (60 a minute) for machines — /register, /register_node_secret.
//! Keys are per client IP (`CF-Connecting-IP`), plus per account for login.

use crate::routes::RouteId;

pub const AUTH_LIMITER: &str = "AUTH_LIMITER";
pub const NODE_LIMITER: &str = "NODE_LIMITER";
/// Both limiters count per 60-second period; a refused client may retry after it.
pub const PERIOD_SECONDS: u32 = 60;

/// The limiter and key for a request to `route` from `client_ip`, if it is limited.
pub fn per_ip(route: RouteId, client_ip: &str) -> Option<(&'static str, String)> {
    let (limiter, name) = match route {
        RouteId::UserRegister => (AUTH_LIMITER, "signup"),
        RouteId::Login => (AUTH_LIMITER, "login"),
        RouteId::ResendVerification => (AUTH_LIMITER, "resend"),
        // One budget per node address across both machine routes.
        RouteId::Register | RouteId::RegisterNodeSecret => (NODE_LIMITER, "node"),
        _ => return None,
    };
    Some((limiter, format!("{name}:ip:{client_ip}")))
}

/// The per-account login key: guesses against one account from many IPs still count.
pub fn login_account_key(normalized_email: &str) -> String {
    format!("login:account:{normalized_email}")
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
        assert_eq!(per_ip(RouteId::OpenApi, "::1"), None);
        assert_eq!(
            login_account_key("ada@acme.io"),
            "login:account:ada@acme.io"
        );
    }
}
