//! Benchmark: what each request costs at Cloudflare's list prices, and what a network
//! of N nodes heartbeating every T seconds costs a month (issue 25, item 2).
//!
//! Boots the built worker with test hooks on (so that it reports, per request, its D1
//! round trips, rows read and written, KV reads and writes in `x-gatehouse-*` headers)
//! and the production KDF, sends each route a few realistic requests and averages the
//! counts, with the mail each sent (from the local mail simulation); the CPU column is workerd's CPU time per request above a request for an
//! unknown path (the local HTTP floor): an estimate of the worker's billed CPU that
//! also holds the local D1 and KV simulation's. Then restarts the worker over the same state with
//! `NODE_SEEN_RESOLUTION_SECONDS` (0: every heartbeat written; default: writes only
//! on change) and `REPLAY_NONCES` (kv, d1) to price the heartbeat under each. A count
//! this build does not report prints "n/a", and so does every dollar figure built on
//! it. Prices: gatehouse_e2e::bench::PRICES (one table, dated, with its sources).
//!
//!     cargo run -p gatehouse-e2e --bin bench_cost --release   (part of `make bench`)

use gatehouse_e2e::accounts::{signup_body, verified_user};
use gatehouse_e2e::bench::{cell, group_cpu_ns, Counts, PRICES, PRICES_AS_OF, PRICE_SOURCES};
use gatehouse_e2e::node_env::{post_secrets, secrets_payload, set_all_envs, set_env};
use gatehouse_e2e::nodes::{fields, now_ms, seed_org, signed, upload_new_key};
use gatehouse_e2e::{spawn_app_with, TestApp, TestResponse};
use serde_json::json;

const SAMPLES: usize = 12;
const NODES: usize = 12;
/// The heartbeat interval and the resolution of the defaults (docs/nodes.md).
const INTERVAL_S: f64 = 300.0;
const DEFAULT_RESOLUTION_S: f64 = 600.0;
const NETWORKS: [f64; 4] = [1e4, 1e5, 1e6, 1e7];
const SECONDS_PER_MONTH: f64 = 30.0 * 86_400.0;

struct Row {
    name: String,
    counts: Counts,
    cpu_ms: f64,
}

/// Sends `n` requests made by `send(i)` (each must succeed) and averages what they cost,
/// with the mail they sent (after their answers: counted once the local mail
/// simulation holds still).
fn measure(
    app: &TestApp,
    floor_ms: f64,
    n: usize,
    send: impl Fn(usize) -> TestResponse,
) -> (Counts, f64) {
    let mut counts = Vec::with_capacity(n);
    let mails_before = settled_mail_count(app);
    let before = group_cpu_ns(app.process_group(), Some("workerd"));
    for i in 0..n {
        let res = send(i);
        assert!(res.status < 300, "{} {}", res.status, res.body);
        counts.push(Counts::of(&res));
    }
    let cpu = (group_cpu_ns(app.process_group(), Some("workerd")) - before) as f64 / 1e6 / n as f64;
    let mails = (settled_mail_count(app) - mails_before) as f64 / n as f64;
    (
        Counts::mean(&counts).with_emails(mails),
        (cpu - floor_ms).max(0.0),
    )
}

/// How many mails the worker has sent, once two reads half a second apart agree.
fn settled_mail_count(app: &TestApp) -> usize {
    let mut last = app.sent_emails().len();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let now = app.sent_emails().len();
        if now == last {
            return now;
        }
        last = now;
    }
}

fn floor_ms(app: &TestApp) -> f64 {
    let n = 40;
    let before = group_cpu_ns(app.process_group(), Some("workerd"));
    for _ in 0..n {
        app.get("/no-such-route");
    }
    (group_cpu_ns(app.process_group(), Some("workerd")) - before) as f64 / 1e6 / n as f64
}

fn ip(round: usize, i: usize) -> String {
    format!("10.77.{round}.{}", i + 1)
}

/// Registers NODES new nodes (round `round`), then re-registers each: (new, warm).
fn heartbeats(
    app: &TestApp,
    key: &gatehouse_core::crypto::rsa_keys::PrivateKey,
    round: usize,
    floor: f64,
) -> ((Counts, f64), (Counts, f64)) {
    let t0 = now_ms();
    let new = measure(app, floor, NODES, |i| {
        app.post_json(
            "/register",
            &signed(key, &fields(&ip(round, i), t0, Some("org-cost"))),
        )
    });
    let warm = measure(app, floor, NODES, |i| {
        app.post_json(
            "/register",
            &signed(key, &fields(&ip(round, i), t0 + 1000, Some("org-cost"))),
        )
    });
    (new, warm)
}

fn main() {
    let base = [("PASSWORD_KDF_ITERATIONS", "210000")];
    let mut app = spawn_app_with(&base);
    let key = seed_org(&app, "org-cost", 2048);
    let (token, org, _) = verified_user(&app, "owner@cost.io");
    let floor = floor_ms(&app);
    let mut rows = Vec::new();
    let mut row = |name: &str, (counts, cpu_ms): (Counts, f64)| {
        rows.push(Row {
            name: name.to_owned(),
            counts,
            cpu_ms,
        })
    };

    let (new, warm) = heartbeats(&app, &key, 0, floor);
    row("POST /register, new node", new);
    row("POST /register, warm heartbeat (defaults)", warm);
    row(
        "POST /register_node_secret (new node id)",
        measure(&app, floor, SAMPLES / 3, |i| {
            app.post_json(
                "/register_node_secret",
                &json!({"node_id": format!("cost-{i}"), "secret": "0123456789abcdef-secret"}),
            )
        }),
    );
    row(
        "POST /user/register",
        measure(&app, floor, SAMPLES / 3, |i| {
            app.post_json(
                "/user/register",
                &signup_body(&format!("p{i}@cost{i}.io"), json!({})),
            )
        }),
    );
    row(
        "POST /user/login",
        measure(&app, floor, SAMPLES / 3, |_| {
            app.post_json(
                "/user/login",
                &json!({"email": "owner@cost.io", "password": "Correct1horse"}),
            )
        }),
    );
    // The installer's run: an OWNER sets a service's environment, then each new node
    // fetches its organization's environments (sealed to its key) before /register.
    row(
        "PUT /organization/{id}/node-env/{service}",
        measure(&app, floor, SAMPLES, |i| {
            set_env(
                &app,
                &token,
                &org,
                "s3",
                &format!("S3_ACCESS_KEY=key-{i}\n"),
            )
        }),
    );
    set_all_envs(&app, &token, &org);
    let (installer_key, _) = upload_new_key(&app, &token, &org);
    let installer_pem = installer_key.to_pkcs8_pem();
    let signed_at = now_ms() / 1000;
    row(
        "POST /secrets (installer, three environments)",
        measure(&app, floor, SAMPLES, |i| {
            let ip = format!("10.78.0.{}", i + 1);
            let payload = secrets_payload(&installer_pem, &ip, "eu-west-1", &org, signed_at);
            post_secrets(&app, &payload)
        }),
    );
    row(
        "GET /node (directory)",
        measure(&app, floor, SAMPLES, |_| app.get("/node")),
    );
    row(
        "GET /organization/{id}/key",
        measure(&app, floor, SAMPLES, |_| {
            app.request_as(&token, "GET", &format!("/organization/{org}/key"), None)
        }),
    );

    // The heartbeat under each setting: a restart clears the isolate, so each round
    // registers its nodes anew (cold) and then times their warm heartbeats.
    let mut settings = Vec::new();
    for (round, (resolution, nonces)) in [("0", "kv"), ("600", "kv"), ("0", "d1"), ("600", "d1")]
        .iter()
        .enumerate()
    {
        let vars = [
            base[0],
            ("NODE_SEEN_RESOLUTION_SECONDS", *resolution),
            ("REPLAY_NONCES", *nonces),
        ];
        app.restart_with(&vars);
        // A restarted isolate compiles its code on the first requests: one round not
        // counted, as the route table above is measured on a worked-in isolate.
        heartbeats(&app, &key, 10 + round, floor);
        let (_, warm) = heartbeats(&app, &key, round + 1, floor);
        settings.push((*resolution, *nonces, warm));
    }

    print_routes(&rows);
    print_heartbeats(&settings);
}

fn print_routes(rows: &[Row]) {
    println!("| route | D1 primary + replica round trips | rows read | rows written | KV reads | KV writes | emails | CPU ms (local estimate) | $ per million |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let c = &r.counts;
        println!(
            "| {} | {} + {} | {} | {} | {} | {} | {} | {:.1} | {} |",
            r.name,
            cell(c.d1_primary, 1),
            cell(c.d1_replica, 1),
            cell(c.rows_read, 1),
            cell(c.rows_written, 1),
            cell(c.kv_reads, 1),
            cell(c.kv_writes, 1),
            cell(c.emails, 2),
            r.cpu_ms,
            cell(c.dollars_per_million(r.cpu_ms), 2),
        );
    }
    let p = &PRICES;
    println!(
        "\nPrices ({PRICES_AS_OF}, Workers Paid, beyond the monthly inclusions): request ${:.2}/M, CPU ${:.2} per M ms, \
         D1 rows written ${:.2}/M, rows read ${:.3}/M, KV writes ${:.2}/M, reads ${:.2}/M, emails ${:.2} per 1,000 — {}. \
         Counts are the worker's own (`x-gatehouse-*` headers with TEST_HOOKS=on), averaged; emails are the local mail simulation's, \
         per request; n/a: not reported by this build.",
        p.request, p.cpu_ms, p.d1_row_written, p.d1_row_read, p.kv_write, p.kv_read, p.email / 1000.0,
        PRICE_SOURCES.join(", ")
    );
}

/// One steady-state heartbeat: with writes on change, a node's row is written once
/// every ceil(R / T) heartbeats (when its last write is R old), otherwise not.
fn steady(
    written: &(Counts, f64),
    unchanged: &(Counts, f64),
    every: f64,
) -> (Option<f64>, Option<f64>) {
    let mix = |w: Option<f64>, u: Option<f64>| Some(w? / every + u? * (1.0 - 1.0 / every));
    let dollars = mix(
        written.0.dollars_per_million(written.1),
        unchanged.0.dollars_per_million(unchanged.1),
    );
    let rows = mix(written.0.rows_written, unchanged.0.rows_written);
    (dollars, rows)
}

fn print_heartbeats(settings: &[(&str, &str, (Counts, f64))]) {
    let find = |r: &str, n: &str| {
        &settings
            .iter()
            .find(|s| s.0 == r && s.1 == n)
            .expect("measured")
            .2
    };
    let every = (DEFAULT_RESOLUTION_S / INTERVAL_S).ceil().max(1.0);
    let modes = [
        (
            "every heartbeat written (NODE_SEEN_RESOLUTION_SECONDS=0), KV nonces",
            steady(find("0", "kv"), find("0", "kv"), 1.0),
        ),
        (
            "writes only on change (default 600 s), KV nonces (default)",
            steady(find("0", "kv"), find("600", "kv"), every),
        ),
        (
            "writes only on change, REPLAY_NONCES=d1",
            steady(find("0", "d1"), find("600", "d1"), every),
        ),
    ];
    println!("\nA network of N nodes, one heartbeat per node every T = {INTERVAL_S:.0} s (steady state: with writes on change, one heartbeat in ceil(600 / {INTERVAL_S:.0}) = {every:.0} writes the node's row):\n");
    println!("| setting | N nodes | heartbeats/s | primary rows written/s | $ per million heartbeats | $ per month |");
    println!("|---|---|---|---|---|---|");
    for (name, (dollars, rows)) in &modes {
        for n in NETWORKS {
            let per_s = n / INTERVAL_S;
            println!(
                "| {name} | {n:.0} | {per_s:.0} | {} | {} | {} |",
                cell(rows.map(|r| r * per_s), 0),
                cell(*dollars, 2),
                cell(dollars.map(|d| d * per_s * SECONDS_PER_MONTH / 1e6), 0),
            );
        }
    }
}
