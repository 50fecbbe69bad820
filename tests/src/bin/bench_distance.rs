//! Benchmark: what distance to the D1 primary costs each route, before and after the
//! round-trip work (docs/performance.md, "Latency from afar").
//!
//! Boots the built worker once (production KDF settings, test hooks on so it reports
//! its round trips) and restarts it over the same D1 state for each injected latency
//! per primary round trip (0, 50, 150 ms; replicas are taken to be next door, 0 ms),
//! once as today and once with `D1_BASELINE=on` — every read on the primary and no
//! cached node keys, which is exactly the round-trip pattern of the release before
//! (2 primary round trips for /register, sign-up, login and node secrets; every read
//! on the primary). Each route is timed sequentially (one request at a time) and the
//! p50 reported; the round-trip counts come from the worker's own headers.
//!
//!     cargo run -p gatehouse-e2e --bin bench_distance --release   (part of `make bench`)

use gatehouse_core::crypto::rsa_keys::PrivateKey;
use gatehouse_e2e::accounts::{signup_body, verified_user};
use gatehouse_e2e::nodes::{fields, now_ms, seed_org, signed};
use gatehouse_e2e::{spawn_app_with, TestApp, TestResponse};
use serde_json::json;
use std::time::Instant;

const LATENCIES_MS: [u32; 3] = [0, 50, 150];
const NODES: usize = 20;
const PEOPLE: usize = 6;

/// Sends one request, made fresh for (round, sample).
type Send = Box<dyn Fn(&TestApp, usize, usize) -> TestResponse>;

struct Route {
    name: &'static str,
    samples: usize,
    send: Send,
}

struct Sample {
    p50_ms: f64,
    primary: u32,
    replica: u32,
}

fn header(res: &TestResponse, name: &str) -> u32 {
    res.header(name).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn time(app: &TestApp, route: &Route, round: usize) -> Sample {
    let mut ms = Vec::with_capacity(route.samples);
    let mut trips = (0, 0);
    for i in 0..route.samples {
        let started = Instant::now();
        let res = (route.send)(app, round, i);
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(
            res.status < 300,
            "{}: {} {}",
            route.name,
            res.status,
            res.body
        );
        trips = (
            header(&res, "x-gatehouse-d1-primary"),
            header(&res, "x-gatehouse-d1-replica"),
        );
    }
    ms.sort_by(f64::total_cmp);
    Sample {
        p50_ms: ms[ms.len() / 2],
        primary: trips.0,
        replica: trips.1,
    }
}

fn routes(key: PrivateKey, token: String, org: String) -> Vec<Route> {
    let key = std::rc::Rc::new(key);
    let reregister = key.clone();
    vec![
        Route {
            name: "POST /register (a known node again)",
            samples: NODES,
            send: Box::new(move |app, _, i| {
                let f = fields(&node_ip(i), now_ms(), Some("org-bench"));
                app.post_json("/register", &signed(&reregister, &f))
            }),
        },
        Route {
            name: "POST /register_node_secret (new node)",
            samples: NODES,
            send: Box::new(|app, round, i| {
                let body =
                    json!({"node_id": format!("node-{round}-{i}"), "secret": "0123456789abcdef"});
                app.post_json("/register_node_secret", &body)
            }),
        },
        Route {
            name: "POST /user/register",
            samples: PEOPLE,
            send: Box::new(|app, round, i| {
                let body = signup_body(&format!("p{round}-{i}@bench{round}-{i}.io"), json!({}));
                app.post_json("/user/register", &body)
            }),
        },
        Route {
            name: "POST /user/login",
            samples: PEOPLE,
            send: Box::new(|app, _, _| {
                app.post_json(
                    "/user/login",
                    &json!({"email": "owner@bench.io", "password": "Correct1horse"}),
                )
            }),
        },
        Route {
            name: "GET /organization/{id}/key",
            samples: NODES,
            send: Box::new(move |app, _, _| {
                app.request_as(&token, "GET", &format!("/organization/{org}/key"), None)
            }),
        },
        Route {
            name: "GET /node (directory)",
            samples: NODES,
            send: Box::new(|app, _, _| app.get("/node")),
        },
    ]
}

fn node_ip(i: usize) -> String {
    format!("198.51.100.{}", i + 1)
}

fn vars(latency: u32, baseline: bool) -> Vec<(&'static str, String)> {
    vec![
        ("PASSWORD_KDF_ITERATIONS", "210000".into()),
        ("D1_LATENCY_MS", latency.to_string()),
        ("D1_BASELINE", if baseline { "on" } else { "off" }.into()),
    ]
}

fn restart(app: &mut TestApp, latency: u32, baseline: bool) {
    let owned = vars(latency, baseline);
    let borrowed: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.restart_with(&borrowed);
}

fn main() {
    let owned = vars(0, false);
    let borrowed: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut app = spawn_app_with(&borrowed);
    let key = seed_org(&app, "org-bench", 2048);
    let (token, org, _) = verified_user(&app, "owner@bench.io");
    let routes = routes(key, token, org);

    // results[route][latency] = (before, after)
    let mut results: Vec<Vec<(Sample, Sample)>> = routes.iter().map(|_| Vec::new()).collect();
    let mut round = 0;
    for &latency in &LATENCIES_MS {
        let mut pair: Vec<Option<Sample>> = Vec::new();
        for baseline in [true, false] {
            restart(&mut app, latency, baseline);
            // A fresh isolate: every node's first registration here is cold (as in
            // production after a deploy); the table times the re-registrations after.
            prime(&app, &routes[0]);
            for (r, route) in routes.iter().enumerate() {
                round += 1;
                let sample = time(&app, route, round);
                if baseline {
                    pair.push(Some(sample));
                } else {
                    let before = pair[r].take().expect("before");
                    results[r].push((before, sample));
                }
            }
        }
    }

    println!("p50 per request in ms, one request at a time; `D1_LATENCY_MS` is added to every round trip to the primary (replicas next door). Round trips as primary + replica.");
    println!();
    let mut head = "| route | round trips before | after |".to_owned();
    let mut rule = "|---|---|---|".to_owned();
    for latency in LATENCIES_MS {
        head += &format!(" before, {latency} ms | after, {latency} ms |");
        rule += "---|---|";
    }
    println!("{head}\n{rule}");
    for (route, row) in routes.iter().zip(&results) {
        let (before, after) = &row[0];
        let mut line = format!(
            "| {} | {} + {} | {} + {} |",
            route.name, before.primary, before.replica, after.primary, after.replica
        );
        for (before, after) in row {
            line += &format!(" {:.0} | {:.0} |", before.p50_ms, after.p50_ms);
        }
        println!("{line}");
    }
}

/// Registers every benchmark node once in this isolate (not timed).
fn prime(app: &TestApp, register: &Route) {
    for i in 0..NODES {
        let res = (register.send)(app, 0, i);
        assert_eq!(res.status, 200, "prime: {}", res.body);
    }
}
