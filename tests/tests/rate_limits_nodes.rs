//! Rate limits on the node routes (Workers rate-limiting binding, simulated locally):
//! per client network (IPv4 address, IPv6 /64) on /register, /unregister, /secrets and
//! /register_node_secret, which share the address's budget, and on the public
//! directory, which keeps its own; per IPv6 /48 on /register_node_secret, where anyone
//! adds rows, and on the signed routes together, at a fleet's pace; 429 with
//! Retry-After in each route family's error shape. The people
//! routes' are in rate_limits.rs.

use gatehouse_e2e::rate_window::in_one_window;
use gatehouse_e2e::{spawn_app_with, spawn_app_with_limit};
use serde_json::json;

/// Rows anyone may add: wrangler.toml lets ten /64s of a /48 at their full 60 a minute
/// spend its 600, and an eleventh /64 adds nothing. This worker's copy of the config
/// allows a fifth of it (two /64s at full pace), which a loaded 2-core machine sends
/// well within one of the limiter's windows. The budget counts requests, whatever they
/// hold, so the spending ones send an empty body (422 at once, nothing stored).
#[test]
fn node_secret_rows_are_bounded_per_48() {
    let app = spawn_app_with_limit(&[("RATE_LIMITS", "on")], "NODE_WIDE_LIMITER", 120);
    let post = |ip: &str, body: &str| {
        app.request(
            "POST",
            "/register_node_secret",
            &[
                ("content-type", "application/json"),
                ("cf-connecting-ip", ip),
            ],
            Some(body.as_bytes()),
        )
    };
    let row = json!({"node_id": "wide-48-row", "secret": "0123456789abcdef"}).to_string();
    // The refusal is asked within the burst's window (its end would start it afresh).
    let (attempt, refused) = in_one_window(30, |attempt| {
        std::thread::scope(|s| {
            for net in 0..2 {
                let post = &post;
                s.spawn(move || {
                    let ip = format!("2001:db8:{:x}:{net:x}::1", 0x600 + attempt);
                    for i in 0..60 {
                        assert_eq!(post(&ip, "{}").status, 422, "{ip} {i}");
                    }
                });
            }
        });
        let wide = format!("2001:db8:{:x}", 0x600 + attempt);
        post(&format!("{wide}:a::1"), &row)
    });
    let wide = format!("2001:db8:{:x}", 0x600 + attempt);
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(
        refused.json(),
        json!({"detail": "Too many requests; retry after 60 seconds"})
    );
    let stored =
        app.d1_query("SELECT count(*) AS n FROM node_secrets WHERE node_id = 'wide-48-row'");
    assert_eq!(stored[0]["n"], 0, "nothing stored past the budget");
    // The /48's signed routes keep budgets of their own: a fleet's heartbeats pass.
    let heartbeat = app.request(
        "POST",
        "/register",
        &[
            ("content-type", "application/json"),
            ("cf-connecting-ip", &format!("{wide}:a::1")),
        ],
        Some(b"{}"),
    );
    assert_ne!(heartbeat.status, 429, "{}", heartbeat.body);
}

#[test]
fn node_routes_are_limited_per_ip_in_their_own_shapes() {
    let app = spawn_app_with(&[("RATE_LIMITS", "on")]);
    // Both budgets are spent, and every refusal asked, within one of the limiter's
    // windows (a burst that crossed a minute's end is made again from another address).
    // The budget counts requests, whatever they hold: the spending ones send an empty
    // body (422 at once).
    let (attempt, (directory_passed, refused)) = in_one_window(40, |attempt| {
        let ip = format!("192.0.2.{}", 9 + attempt);
        let post = |path: &str| {
            app.request(
                "POST",
                path,
                &[
                    ("content-type", "application/json"),
                    ("cf-connecting-ip", &ip),
                ],
                Some(b"{}"),
            )
        };
        for i in 0..60 {
            assert_eq!(post("/register_node_secret").status, 422, "request {i}");
        }
        // /register, /unregister and the installer's /secrets share the address's budget.
        let node_routes = [
            "/register_node_secret",
            "/register",
            "/unregister",
            "/secrets",
        ];
        let [secret, register, unregister, secrets] = node_routes.map(post);
        // The public directory keeps a budget of its own, at the same pace.
        let directory = || app.request("GET", "/node", &[("cf-connecting-ip", &ip)], None);
        let directory_passed = (0..60).filter(|_| directory().status == 200).count();
        let refused = (secret, register, unregister, secrets, directory());
        (directory_passed, refused)
    });
    assert_eq!(directory_passed, 60);
    let (secret, register, unregister, secrets, directory) = refused;
    // Each in its route's own shape: Infera's for the secret, the common one elsewhere.
    assert_eq!(secret.status, 429);
    assert_eq!(
        secret.json(),
        json!({"detail": "Too many requests; retry after 60 seconds"})
    );
    assert_eq!(register.status, 429);
    assert_eq!(register.json()["success"], false);
    assert_eq!(register.header("retry-after"), Some("60"));
    assert_eq!(
        (unregister.status, &unregister.json()["success"]),
        (429, &json!(false))
    );
    assert_eq!(secrets.status, 429);
    assert_eq!(secrets.json()["error_code"], "RATE_LIMITED");
    assert_eq!(secrets.header("retry-after"), Some("60"));
    assert_eq!(directory.status, 429);
    // Health is never limited.
    let ip = format!("192.0.2.{}", 9 + attempt);
    assert_eq!(
        app.request("GET", "/health", &[("cf-connecting-ip", &ip)], None)
            .status,
        200
    );
}

#[test]
fn signed_node_routes_are_bounded_per_48_at_a_fleets_pace() {
    // A forged request reads the D1 primary before any signature is tried: one /48's
    // 65,536 /64s at 60 a minute each would fill its one thread. wrangler.toml lets
    // 3,000 a minute from one /48 pass (fifty /64s at their own full pace, across the
    // signed routes: a fleet of 15,000 nodes heartbeating every 5 minutes). A loaded
    // 2-core machine cannot send 3,000 within one of the limiter's windows, so this
    // worker's copy of the config allows a tenth of it: five /64s at full pace.
    let app = spawn_app_with_limit(&[("RATE_LIMITS", "on")], "NODE_FLEET_LIMITER", 300);
    let post = |path: &str, ip: &str| {
        app.request(
            "POST",
            path,
            &[
                ("content-type", "application/json"),
                ("cf-connecting-ip", ip),
            ],
            Some(b"{}"),
        )
    };
    let signed = ["/register", "/unregister", "/secrets"];
    // The refusals are asked within the burst's window too (a window's end between
    // them would start the /48's count afresh).
    let (attempt, refused) = in_one_window(30, |attempt| {
        std::thread::scope(|s| {
            for net in 0..5 {
                let post = &post;
                s.spawn(move || {
                    let ip = format!("2001:db8:{:x}:{net:x}::1", 0x700 + attempt);
                    for i in 0..60 {
                        let path = signed[i % 3];
                        assert_ne!(post(path, &ip).status, 429, "{path} {ip} {i}");
                    }
                });
            }
        });
        let wide = format!("2001:db8:{:x}", 0x700 + attempt);
        signed.map(|path| (path, post(path, &format!("{wide}:ff::1"))))
    });
    for (path, refused) in refused {
        assert_eq!(refused.status, 429, "{path}: {}", refused.body);
        assert_eq!(refused.header("retry-after"), Some("60"), "{path}");
    }
    // By the /48's own budget (the /64 :ff:: is fresh).
    let fleet = r#""limiter":"NODE_FLEET_LIMITER""#;
    assert!(app.wait_for_log(fleet).contains(fleet));
    let wide = format!("2001:db8:{:x}", 0x700 + attempt);
    // Another /48, an IPv4 address and the /48's own node-secret budget still pass.
    for (path, ip) in [
        ("/register", "2001:db8:ffff:1::1"),
        ("/register", "198.51.100.99"),
        ("/register_node_secret", &format!("{wide}:fe::1") as &str),
    ] {
        assert_ne!(post(path, ip).status, 429, "{path} from {ip}");
    }
}
