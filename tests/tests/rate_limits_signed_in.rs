//! Rate limits on what a signed-in client calls (refresh, logout, the profile, /token,
//! every /organization route): one budget per client network (an IPv4 address, an
//! IPv6 /64) and a wider one per IPv6 /48, counted once the token verifies and before
//! anything is read, as the Flashback client's calls reach the worker through
//! Cloudflare. Anyone who signs
//! up holds a token, and each call with a live one reads the D1 primary: one address
//! looping them must not fill its one thread (SECURITY.md's "Floods" row). The people
//! routes' limits are in rate_limits.rs, the node routes' in rate_limits_nodes.rs.

use gatehouse_e2e::accounts::{login_at, verified_user, PASSWORD};
use gatehouse_e2e::flashback::{client_call_at, refresh_token_call};
use gatehouse_e2e::rate_window::in_one_window;
use gatehouse_e2e::{spawn_app_with, spawn_app_with_limit, TestApp, TestResponse};
use serde_json::{json, Value};

/// wrangler.toml's SIGNED_IN_LIMITER: calls a minute per network.
const PER_NETWORK: u32 = 300;

/// A sign-in of `email` that has ended (its refresh token signed out with): the access
/// and refresh tokens a client left open in a tab still sends.
fn stale_tokens(app: &TestApp, email: &str) -> (String, String) {
    let login = login_at(app, "198.51.100.200", email, PASSWORD);
    assert_eq!(login.status, 200, "{}", login.body);
    let login = login.json();
    let out = refresh_token_call(app, "user/logout", &login["refreshToken"]);
    assert_eq!(out.status, 200, "{}", out.body);
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    (text(&login["accessToken"]), text(&login["refreshToken"]))
}

/// `calls` of a signed-in client's kinds from `ip` with an ended sign-in's tokens, on
/// `threads` threads: each is refused 401 after its token is looked at (so each counts).
fn spend(app: &TestApp, ip: &str, stale: &(String, String), org: &str, calls: u32) {
    let (access, refresh) = stale;
    let refresh = json!({"refresh_token": refresh});
    let nodes = format!("organization/{org}/nodes");
    let kinds: [(&str, &str, Option<&Value>); 4] = [
        ("GET", "user/profile", None),
        ("GET", nodes.as_str(), None),
        ("GET", "token", None),
        ("POST", "user/refresh", Some(&refresh)),
    ];
    std::thread::scope(|s| {
        for thread in 0..3 {
            let kinds = &kinds;
            s.spawn(move || {
                for i in (thread..calls).step_by(3) {
                    let (method, path, body) = kinds[i as usize % kinds.len()];
                    let res = client_call_at(app, Some(ip), Some(access), method, path, body);
                    assert_eq!(res.status, 401, "{method} {path} #{i}: {}", res.body);
                }
            });
        }
    });
}

fn assert_rate_limited(res: &TestResponse) {
    assert_eq!(res.status, 429, "{}", res.body);
    assert_eq!(res.json()["error_code"], "RATE_LIMITED", "{}", res.body);
    assert_eq!(res.header("retry-after"), Some("60"));
    assert_eq!(res.d1_round_trips(), (0, 0), "refused before any read");
}

/// One address's 300 calls a minute, whatever their kind and whichever of our tokens
/// they hold, then 429 before any read — for a live token too; a call without a token
/// or with a forged one is 401 on CPU alone and spends nothing; another address, and
/// the same address's sign-in (the people routes' own budget), are not touched.
#[test]
fn a_networks_signed_in_calls_share_one_budget() {
    let app = spawn_app_with(&[("RATE_LIMITS", "on")]);
    let (live, org, _) = verified_user(&app, "dash@signed-in-limits.example");
    let stale = stale_tokens(&app, "dash@signed-in-limits.example");
    let forged = format!("{}x", &live[..live.len() - 1]);
    let (attempt, (refused, refused_org, tokenless, elsewhere, login)) =
        in_one_window(45, |attempt| {
            let ip = format!("198.51.100.{}", 10 + attempt);
            spend(&app, &ip, &stale, &org, PER_NETWORK);
            let call = |ip: &str, token: Option<&str>, path: &str| {
                client_call_at(&app, Some(ip), token, "GET", path, None)
            };
            (
                call(&ip, Some(&live), "user/profile"),
                call(&ip, Some(&live), &format!("organization/{org}/key")),
                [
                    call(&ip, None, "user/profile"),
                    call(&ip, Some(&forged), "token"),
                ],
                call(
                    &format!("198.51.100.{}", 20 + attempt),
                    Some(&live),
                    "user/profile",
                ),
                login_at(&app, &ip, "dash@signed-in-limits.example", PASSWORD),
            )
        });
    assert_rate_limited(&refused);
    assert_rate_limited(&refused_org);
    for res in &tokenless {
        assert_eq!(res.status, 401, "no token, or not ours: {}", res.body);
        assert_eq!(res.json()["error_code"], "UNAUTHORIZED");
        assert_eq!(res.d1_round_trips(), (0, 0));
    }
    assert_eq!(elsewhere.status, 200, "another address: {}", elsewhere.body);
    assert_eq!(
        login.status, 200,
        "signing in is another budget: {}",
        login.body
    );
    let line = r#"{"msg":"rate_limited","limiter":"SIGNED_IN_LIMITER","budget":"signedin"}"#;
    let log = app.wait_for_log(line);
    assert!(
        !log.contains(&format!("198.51.100.{}", 10 + attempt)),
        "no address in the log"
    );
}

/// Whoever holds an IPv6 /48 holds 65,536 /64s: their calls also count against the
/// /48. This worker's copy of wrangler.toml allows the /48 a fifth of its 3,000 a
/// minute (two /64s at full pace), which a loaded 2-core machine sends within one of
/// the limiter's windows: a third /64, fresh itself, is refused; the neighbouring /48
/// is someone else.
#[test]
fn a_48s_signed_in_calls_share_a_wider_budget() {
    let app = spawn_app_with_limit(
        &[("RATE_LIMITS", "on")],
        "SIGNED_IN_WIDE_LIMITER",
        2 * PER_NETWORK,
    );
    let (live, org, _) = verified_user(&app, "dash@wide-signed-in-limits.example");
    let stale = stale_tokens(&app, "dash@wide-signed-in-limits.example");
    let wide = |attempt: u32| format!("2001:db8:{:x}", 0x700 + attempt);
    let (attempt, (refused, neighbour)) = in_one_window(50, |attempt| {
        for net in 0..2 {
            spend(
                &app,
                &format!("{}:{net:x}::1", wide(attempt)),
                &stale,
                &org,
                PER_NETWORK,
            );
        }
        let call =
            |ip: &str| client_call_at(&app, Some(ip), Some(&live), "GET", "user/profile", None);
        (
            call(&format!("{}:a::1", wide(attempt))),
            call(&format!("2001:db8:{:x}:a::1", 0x780 + attempt)),
        )
    });
    assert_rate_limited(&refused);
    assert_eq!(neighbour.status, 200, "{}", neighbour.body);
    let line = r#"{"msg":"rate_limited","limiter":"SIGNED_IN_WIDE_LIMITER","budget":"signedin"}"#;
    let log = app.wait_for_log(line);
    assert!(
        !log.contains(&format!("{}:", wide(attempt))),
        "no network in the log"
    );
}
