//! `gatehouse-cli admin delete-accounts-at DOMAIN`: every account at one domain erased
//! as `delete-account` erases one (`person.rs`).
//!
//! Why: verified accounts have no retention, and a script that owns a domain whose
//! every address reaches it (a catch-all) can sign up and verify accounts at the
//! sign-up pace for as long as it likes (SECURITY.md, "Known gaps"). One command per
//! address would take an operator's afternoon per thousand; this one reads the plan in
//! one call and erases the accounts in calls of `--per-call` each (their ids ride in
//! the SQL, which one command line carries). A free-mail provider's domain is refused:
//! its accounts are different people's, each of whom asks for their own erasure.

use super::args::DeleteAccountsAtArgs;
use super::person::go_on;
use super::sql::{self, domain_plan, erased};
use super::{askable, execute, part, StatementResult};
use serde_json::Value;

pub fn delete_accounts_at(a: &DeleteAccountsAtArgs) -> Result<(), String> {
    let domain = sql::checked_domain(&a.domain)?;
    const ACTION: &str = "delete every account at a domain";
    if !a.erasure.dry_run {
        askable(&a.erasure.place, ACTION)?;
    }
    let plan = execute(&a.erasure.place, &sql::domain_erasure_plan(&domain))?;
    let first = |i: usize| part(&plan, i).into_iter().next().unwrap_or_default();
    let number = |row: &Value, field: &str| row[field].as_u64().unwrap_or(0);
    if number(&first(domain_plan::FREE_MAIL), "free_mail") > 0 {
        return Err(format!(
            "{domain} is a free-mail provider's: its accounts are different people's, not one owner's; erase them one at a time (delete-account); nothing changed"
        ));
    }
    let accounts = part(&plan, domain_plan::ACCOUNTS);
    let ids: Vec<&str> = accounts.iter().filter_map(|r| r["id"].as_str()).collect();
    if ids.is_empty() {
        return Err(format!("no account at {domain}"));
    }
    let verified = accounts
        .iter()
        .filter(|r| number(r, "verified") > 0)
        .count();
    let sole = part(&plan, domain_plan::SOLE_ORGANIZATIONS);
    let total = |field: &str| sole.iter().map(|o| number(o, field)).sum::<u64>();
    let banned: Vec<&str> = sole
        .iter()
        .filter(|o| number(o, "banned") > 0)
        .filter_map(|o| o["id"].as_str())
        .collect();
    let staying = first(domain_plan::STAYING);
    let anchors = number(&first(domain_plan::ANCHORS), "anchors");

    println!(
        "{} account(s) at {domain} ({verified} verified):",
        ids.len()
    );
    println!(
        "  {} organization(s) only they belong to: deleted with their {} key(s), {} node(s), {} service environment(s), trials and audit",
        sole.len(),
        total("org_keys"),
        total("nodes"),
        total("node_envs"),
    );
    if !banned.is_empty() {
        println!(
            "  of those, BANNED: {}: deleting them lifts the ban and frees the domain they claimed (only with --including-banned)",
            banned.join(", ")
        );
    }
    println!(
        "  {} organization(s) with members elsewhere stay: {} membership(s) go, {} OWNER role(s) pass to a member who stays",
        number(&staying, "organizations"),
        number(&staying, "memberships"),
        number(&staying, "hand_overs"),
    );
    println!(
        "  their sign-ins, links, login counters and known networks are deleted; {}",
        if anchors > 0 {
            format!("{anchors} of their rows stay with nothing personal (erased:<id>), named by audit entries of organizations that stay; the others go")
        } else {
            "so are their rows".to_owned()
        }
    );
    if !go_on(&a.erasure, &banned, ACTION, &domain)? {
        return Ok(());
    }
    erase_in_calls(a, &domain, &ids)
}

/// The erasure itself, `--per-call` accounts a call, the progress on stderr: a call
/// that fails leaves the accounts before it erased, and the message says so.
fn erase_in_calls(a: &DeleteAccountsAtArgs, domain: &str, ids: &[&str]) -> Result<(), String> {
    let mut tally = Tally::default();
    for batch in ids.chunks(usize::from(a.per_call)) {
        let done = execute(&a.erasure.place, &sql::erase_domain_accounts(domain, batch)).map_err(|e| {
            format!(
                "{e}\n{} of the {} account(s) at {domain} were erased before this call failed; run the command again to erase the rest",
                tally.accounts(),
                ids.len()
            )
        })?;
        tally.add(&done);
        eprintln!(
            "erased {} of {} account(s) at {domain}",
            tally.accounts(),
            ids.len()
        );
    }
    println!(
        "deleted: {} account(s) ({} kept as erased:<id>), {} sign-in(s), {} organization(s) with {} key(s) and {} node(s); {} new OWNER(s)",
        tally.accounts(),
        tally.scrubbed,
        tally.sign_ins,
        tally.organizations,
        tally.keys,
        tally.nodes,
        tally.new_owners,
    );
    let gone = ids.len().saturating_sub(tally.accounts());
    if gone > 0 {
        println!("{gone} account(s) of the plan were gone before their turn (erased meanwhile)");
    }
    Ok(())
}

/// What the calls removed, summed from their answers ([`erased`]).
#[derive(Default)]
struct Tally {
    sign_ins: usize,
    organizations: usize,
    keys: usize,
    nodes: usize,
    new_owners: usize,
    scrubbed: usize,
    deleted: usize,
}

impl Tally {
    fn add(&mut self, done: &[StatementResult]) {
        let n = |i: usize| part(done, i).len();
        self.sign_ins += n(erased::SIGN_INS);
        self.organizations += n(erased::ORGANIZATIONS);
        self.keys += n(erased::ORG_KEYS);
        self.nodes += n(erased::NODES);
        self.new_owners += n(erased::NEW_OWNERS);
        self.scrubbed += n(erased::SCRUBBED);
        self.deleted += n(erased::DELETED);
    }

    /// The accounts erased: scrubbed (kept as an audit anchor) or deleted.
    fn accounts(&self) -> usize {
        self.scrubbed + self.deleted
    }
}
