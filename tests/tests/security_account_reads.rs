//! What a stranger may make D1 read through the account routes, bounded however many
//! accounts there are. Links to the aliases of one mailbox are counted together (ten
//! an hour: core::account::INBOX_LINKS_PER_WINDOW), and anyone may sign up at as many
//! aliases of one mailbox as sign-up's rate lets them, each kept 30 days while
//! unverified: the count walked every alias and looked up each one's links, so a
//! sign-up, resend or reset request at a mailbox with a million aliases read a million
//! rows on the primary. It is a range of the links' own (inbox, created_at_ms) index
//! now (migration 0023). And people at a claimed domain join its organization when they
//! verify, where each join asked who its OWNERs are by walking every member (a domain
//! that delivers every address to one mailbox grows that organization at sign-up's
//! rate): a range of the OWNERs now (migration 0024). And every sign-up at a domain
//! founds an organization pending there, kept 30 days unverified, which anyone may make
//! without reading the domain's mail: the verification that claims the domain, or
//! joins the one that did, starts from the person's own memberships, never from the
//! organizations pending at the domain (SQLite chose that index for it without
//! statistics, store::accounts::verification says how it is kept from it). And an
//! organization's member list read, counted and sorted every member: it walks the
//! members in join order now and stops at the page, the count kept on the
//! organization (migration 0027).
//!
//! The aliases, members and pending organizations are seeded straight into D1: copies
//! of one account signed up through the API, each at an address of its own, and bare
//! organization rows.

use gatehouse_e2e::accounts::{
    open_and_confirm, sign_up, signup_body, verification_path, verified_user,
};
use gatehouse_e2e::seed::seq;
use gatehouse_e2e::{shared_app, TestApp, TestResponse};
use serde_json::json;

const DOMAIN: &str = "alias-reads.acme.io";

fn alias(tag: &str) -> String {
    format!("reader+{tag}@{DOMAIN}")
}

/// SQL: `count` copies of the account at `email`, numbered from `from` (`WITH
/// RECURSIVE seq(n)` and an `INSERT INTO users`): every column kept, the mailbox an
/// alias delivers to too, but the id (`<id>-<n>`) and the address
/// (`<local>+<n>@<domain>`, of the original's parts).
fn copies_of(app: &TestApp, email: &str, id: &str, from: u32, count: u32) -> String {
    let (local, domain) = email.split_once('@').unwrap();
    let local = local.split('+').next().unwrap();
    let columns: Vec<String> = app
        .d1_query("PRAGMA table_info(users)")
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    let values: Vec<String> = columns
        .iter()
        .map(|c| match c.as_str() {
            "id" => format!("'{id}-' || n"),
            "email" => format!("'{local}+' || n || '@{domain}'"),
            other => format!("u.{other}"),
        })
        .collect();
    format!(
        "{} INSERT INTO users ({}) SELECT {} FROM seq, users u WHERE u.email = '{email}'",
        seq(from, count),
        columns.join(", "),
        values.join(", "),
    )
}

/// `count` more unverified accounts at aliases of the mailbox, numbered from `from`.
fn more_aliases(app: &TestApp, from: u32, count: u32) {
    app.d1_query(&copies_of(app, &alias("0"), "reads", from, count));
}

fn rows_read(res: &TestResponse) -> u64 {
    res.count("x-gatehouse-d1-rows-read")
}

/// Rows read by a sign-up at a new alias, a resend and a reset request for aliases
/// that never asked (each its own, so no per-account interval decides): `round` names
/// them.
fn reads(app: &TestApp, round: &str) -> [u64; 3] {
    let signed_up = app.post_json(
        "/user/register",
        &signup_body(&alias(&format!("new-{round}")), json!({})),
    );
    assert_eq!(signed_up.status, 201, "{}", signed_up.body);
    let resend = app.post_json(
        "/user/resend-verification",
        &json!({"email": alias(&format!("{round}1"))}),
    );
    assert!(resend.status < 300, "{}", resend.body);
    let reset = app.post_json(
        "/user/request-reset-password",
        &json!({"email": alias(&format!("{round}2"))}),
    );
    assert!(reset.status < 300, "{}", reset.body);
    [signed_up, resend, reset].map(|res| rows_read(&res))
}

#[test]
fn links_to_a_mailboxs_aliases_are_counted_without_reading_every_alias() {
    let app = shared_app();
    sign_up(app, &alias("0"));
    // Aliases numbered 10…209, then 1010…3009: the rounds ask for 11, 12, 21, 22 — all
    // among the first 200.
    more_aliases(app, 10, 200);
    let few = reads(app, "1");
    more_aliases(app, 1_010, 2_000);
    let many = reads(app, "2");
    println!(
        "rows read (sign-up, resend, reset request): {few:?} at 200 aliases, {many:?} at 2,200"
    );
    for (i, route) in ["sign-up", "resend", "reset request"].iter().enumerate() {
        assert!(
            many[i] <= few[i] + 10 && many[i] < 50,
            "{route} read {} rows at 200 aliases, {} at 2,200: {few:?} {many:?}",
            few[i],
            many[i]
        );
    }
}

/// `count` more verified members of `org`, numbered from `from`: copies of its
/// founder's account (at `founder+<n>@…`, id `<org>-member-<n>`), each with a MEMBER's
/// row, joined before anyone else (at 1 ms).
fn more_members(app: &TestApp, founder: &str, org: &str, from: u32, count: u32) {
    let id = format!("{org}-member");
    app.d1_query(&copies_of(app, founder, &id, from, count));
    app.d1_query(&format!(
        "{} INSERT INTO org_members (org_id, user_id, role, created_at_ms) \
         SELECT '{org}', '{id}-' || n, 'MEMBER', 1 FROM seq",
        seq(from, count)
    ));
}

/// Rows read by the verification of a new account at `email`, and the organization
/// and role it then holds.
fn verify_reads(app: &TestApp, email: &str) -> (u64, serde_json::Value) {
    let body = sign_up(app, email);
    let confirmed = open_and_confirm(app, &verification_path(app, email));
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    let id = body["user"]["id"].as_str().unwrap();
    let held = app.d1_query(&format!(
        "SELECT o.id AS org_id, o.domain, m.role FROM org_members m \
         JOIN organizations o ON o.id = m.org_id WHERE m.user_id = '{id}'"
    ));
    assert_eq!(held.len(), 1, "{held:?}");
    (rows_read(&confirmed), held[0].clone())
}

/// Rows read by a colleague's verification, which joins the organization that claimed
/// their domain.
fn join_reads(app: &TestApp, email: &str, org: &str) -> u64 {
    let (read, held) = verify_reads(app, email);
    assert_eq!(
        (&held["org_id"], &held["role"]),
        (&json!(org), &json!("MEMBER"))
    );
    read
}

#[test]
fn joining_a_large_organization_does_not_read_its_every_member() {
    let app = shared_app();
    let founder = "founder@join-reads.acme.io";
    let (_, org, _) = verified_user(app, founder);
    more_members(app, founder, &org, 1, 20);
    let few = join_reads(app, "first@join-reads.acme.io", &org);
    more_members(app, founder, &org, 1_000, 2_000);
    let many = join_reads(app, "second@join-reads.acme.io", &org);
    println!("rows read by a join: {few} at 22 members, {many} at 2,022");
    assert!(
        many <= few + 10 && many < 150,
        "a join read {few} rows at 22 members, {many} at 2,022"
    );
}

/// Rows read by the verifications at `domain` once `pending` organizations wait there
/// (strangers' sign-ups at the domain, never verified: each founds one, kept 30 days):
/// the first person to verify claims the domain, the next one joins.
fn settle_reads(app: &TestApp, domain: &str, pending: u32) -> [u64; 2] {
    app.d1_query(&format!(
        "{} INSERT INTO organizations (id, name, pending_domain, created_at_ms) \
         SELECT '{domain}-' || n, 'squatted', '{domain}', 1 FROM seq",
        seq(1, pending)
    ));
    let (claimed, founded) = verify_reads(app, &format!("founder@{domain}"));
    assert_eq!(
        (&founded["domain"], &founded["role"]),
        (&json!(domain), &json!("OWNER"))
    );
    let org = founded["org_id"].as_str().unwrap();
    [
        claimed,
        join_reads(app, &format!("colleague@{domain}"), org),
    ]
}

#[test]
fn strangers_organizations_pending_at_a_domain_are_not_read_by_its_peoples_verification() {
    let app = shared_app();
    let few = settle_reads(app, "pending-few.acme.io", 20);
    let many = settle_reads(app, "pending-many.acme.io", 2_000);
    println!(
        "rows read by a claim and a join: {few:?} at 20 pending organizations, {many:?} at 2,000"
    );
    for (i, step) in ["claim", "join"].iter().enumerate() {
        assert!(
            many[i] <= few[i] + 10 && many[i] < 150,
            "a {step} read {} rows at 20 pending organizations, {} at 2,000",
            few[i],
            many[i]
        );
    }
}

/// `org`'s first member seeded by [`more_members`], made unverified (a legacy row: a
/// sign-up joins only once verified); returns its id.
fn unverify_first_member(app: &TestApp, org: &str) -> String {
    let id = format!("{org}-member-1");
    app.d1_query(&format!(
        "UPDATE users SET email_verified_at_ms = NULL WHERE id = '{id}'"
    ));
    id
}

/// `GET …/members` as `token`: rows read, and the answer's body.
fn list_members(app: &TestApp, token: &str, org: &str) -> (u64, serde_json::Value) {
    let res = app.request_as(token, "GET", &format!("/organization/{org}/members"), None);
    assert_eq!(res.status, 200, "{}", res.body);
    (rows_read(&res), res.json())
}

#[test]
fn an_organizations_member_list_reads_the_members_it_lists_however_many_it_has() {
    let app = shared_app();
    // A small organization: its unverified member, who joined first, is listed last.
    let founder = "founder@small-list.acme.io";
    let (token, org, _) = verified_user(app, founder);
    more_members(app, founder, &org, 1, 4);
    let early = unverify_first_member(app, &org);
    let (_, small) = list_members(app, &token, &org);
    assert_eq!(small["total"], 5, "{small}");
    let data = small["data"].as_array().unwrap();
    assert_eq!(data.len(), 5);
    assert_eq!(
        (&data[4]["id"], &data[4]["validated"]),
        (&json!(early), &json!(false))
    );
    assert!(data[..4].iter().all(|m| m["validated"] == true), "{small}");

    // A large one (a catch-all domain grows one by sign-up's pace): the list is its
    // first thousand verified members, and reads no more as it grows.
    let founder = "founder@list-reads.acme.io";
    let (token, org, _) = verified_user(app, founder);
    more_members(app, founder, &org, 1, 1_200);
    let early = unverify_first_member(app, &org);
    let (few, listed) = list_members(app, &token, &org);
    assert_eq!(listed["total"], 1_201);
    let data = listed["data"].as_array().unwrap();
    assert_eq!(data.len(), 1_000);
    assert!(data
        .iter()
        .all(|m| m["validated"] == true && m["id"] != json!(early)));
    more_members(app, founder, &org, 2_000, 3_000);
    let (many, listed) = list_members(app, &token, &org);
    assert_eq!(listed["total"], 4_201);
    assert_eq!(listed["data"].as_array().unwrap().len(), 1_000);
    println!("rows read by a member list: {few} at 1,201 members, {many} at 4,201");
    assert!(
        many <= few + 10,
        "a member list read {few} rows at 1,201 members, {many} at 4,201"
    );
}
