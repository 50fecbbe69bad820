//! `gatehouse-cli admin delete-accounts-at DOMAIN`: every account at one domain (and,
//! with `--including-subdomains`, at every domain under it) erased as `delete-account`
//! erases one (`person.rs`).
//!
//! Why: verified accounts have no retention, and a script that owns a domain whose
//! every address reaches it (a catch-all) can sign up and verify accounts at the
//! sign-up pace for as long as it likes (SECURITY.md, "Known gaps"). One command per
//! address would take an operator's afternoon per thousand; this one reads the plan in
//! one call and erases the accounts in calls of `--per-call` each (their ids ride in
//! the SQL, which one command line carries), each call reading the next batch after
//! its erasure, until none is left (`sql/domain.rs`). A free-mail provider's domain is
//! refused: its accounts are different people's, each of whom asks for their own
//! erasure.

use super::args::DeleteAccountsAtArgs;
use super::person::go_on;
use super::sql::{self, domain_plan, erased};
use super::{askable, execute, part, StatementResult};
use crate::out::outln;
use serde_json::Value;
use std::collections::HashSet;

pub fn delete_accounts_at(a: &DeleteAccountsAtArgs) -> Result<(), String> {
    let domain = sql::checked_domain(&a.domain)?;
    let at = sql::AtDomain {
        name: &domain,
        subdomains: a.including_subdomains,
    };
    // Where the accounts are, as every message says it.
    let place = if at.subdomains {
        format!("{domain} and its subdomains")
    } else {
        domain.clone()
    };
    const ACTION: &str = "delete every account at a domain";
    if !a.erasure.dry_run {
        askable(&a.erasure.place, ACTION)?;
    }
    let plan = execute(&a.erasure.place, &sql::domain_erasure_plan(at, a.per_call))?;
    let first = |i: usize| part(&plan, i).into_iter().next().unwrap_or_default();
    let number = |row: &Value, field: &str| row[field].as_u64().unwrap_or(0);
    if number(&first(domain_plan::FREE_MAIL), "free_mail") > 0 {
        return Err(format!(
            "{domain} is a free-mail provider's: its accounts are different people's, not one owner's; erase them one at a time (delete-account); nothing changed"
        ));
    }
    let accounts = first(domain_plan::ACCOUNTS);
    let planned = number(&accounts, "accounts");
    if planned == 0 {
        return Err(format!("no account at {place}"));
    }
    let sole = first(domain_plan::SOLE_ORGANIZATIONS);
    let banned: Vec<&str> = sole["banned"]
        .as_str()
        .map(|ids| ids.split(", ").collect())
        .unwrap_or_default();
    let staying = first(domain_plan::STAYING);
    let anchors = number(&first(domain_plan::ANCHORS), "anchors");

    outln!(
        "{planned} account(s) at {place} ({} verified):",
        number(&accounts, "verified")
    );
    if at.subdomains {
        // Many domains is a public suffix (co.uk) or a provider, not one script's.
        outln!(
            "  at {} distinct domain(s): with --including-subdomains, check they are all the script's",
            number(&accounts, "domains")
        );
    }
    outln!(
        "  {} organization(s) only they belong to: deleted with their {} key(s), {} node(s), {} service environment(s), trials and audit",
        number(&sole, "organizations"),
        number(&sole, "org_keys"),
        number(&sole, "nodes"),
        number(&sole, "node_envs"),
    );
    if !banned.is_empty() {
        outln!(
            "  of those, BANNED: {}: deleting them lifts the ban and frees the domain they claimed (only with --including-banned)",
            banned.join(", ")
        );
    }
    outln!(
        "  {} organization(s) with members elsewhere stay: {} membership(s) go, {} OWNER role(s) pass to a member who stays",
        number(&staying, "organizations"),
        number(&staying, "memberships"),
        number(&staying, "hand_overs"),
    );
    outln!(
        "  their sign-ins, links, login counters and known networks are deleted; {}",
        if anchors > 0 {
            format!("{anchors} of their rows stay with nothing personal (erased:<id>), named by audit entries of organizations that stay; the others go")
        } else {
            "so are their rows".to_owned()
        }
    );
    // With its subdomains, the operator types the wider target: `*.spam.example`.
    let target = if at.subdomains {
        format!("*.{domain}")
    } else {
        domain.clone()
    };
    if !go_on(&a.erasure, &banned, ACTION, &target)? {
        return Ok(());
    }
    erase_in_calls(
        a,
        at,
        &place,
        planned,
        ids_of(&plan, domain_plan::FIRST_BATCH),
    )
}

/// The ids a batch-reading statement answered.
fn ids_of(results: &[StatementResult], i: usize) -> Vec<String> {
    part(results, i)
        .iter()
        .filter_map(|row| row["id"].as_str().map(str::to_owned))
        .collect()
}

/// The erasure itself: a call per batch of `--per-call` accounts, each reading the
/// next batch, until none is left; the progress on stderr. A call that fails leaves
/// the calls before it done, and the message says so.
fn erase_in_calls(
    a: &DeleteAccountsAtArgs,
    at: sql::AtDomain,
    place: &str,
    planned: u64,
    mut batch: Vec<String>,
) -> Result<(), String> {
    let mut tally = Tally::default();
    while !batch.is_empty() {
        let ids: Vec<&str> = batch.iter().map(String::as_str).collect();
        let sql = sql::erase_domain_accounts(at, &ids, a.per_call);
        let done = execute(&a.erasure.place, &sql).map_err(|e| {
            format!(
                "{e}\n{} account(s) at {place} were erased before this call failed; run the command again to erase the rest",
                tally.accounts
            )
        })?;
        let erased_now = tally.add(&done);
        eprintln!(
            "erased {} account(s) at {place} (the plan counted {planned})",
            tally.accounts
        );
        let next = ids_of(&done, sql::NEXT_BATCH);
        if erased_now == 0 && next == batch {
            // Nothing moved, and the same accounts come next: another try would loop.
            return Err(format!(
                "accounts {} at {place} were not erased (a row the erasure does not know holds them?); {} erased before; nothing else changed",
                batch.join(", "),
                tally.accounts
            ));
        }
        batch = next;
    }
    outln!(
        "deleted: {} account(s) ({} kept as erased:<id>), {} sign-in(s), {} organization(s) with {} key(s) and {} node(s); {} new OWNER(s)",
        tally.accounts,
        tally.kept.len(),
        tally.sign_ins,
        tally.organizations,
        tally.keys,
        tally.nodes,
        tally.new_owners.len(),
    );
    let counted = tally.accounts as u64;
    if counted > planned {
        outln!(
            "{} more than the plan counted: they signed up at {place} while the command ran",
            counted - planned
        );
    }
    if tally.freed_earlier > 0 {
        outln!(
            "also deleted: {} row(s) of accounts erased earlier that only these organizations' audit still named",
            tally.freed_earlier
        );
    }
    Ok(())
}

/// What the calls removed, summed from their answers ([`erased`]): counts, and as sets
/// what a later call may undo or repeat — an account kept as an audit anchor whose last
/// entry a later call deletes with its organization, a member made OWNER by two calls.
#[derive(Default)]
struct Tally {
    accounts: usize,
    sign_ins: usize,
    organizations: usize,
    keys: usize,
    nodes: usize,
    new_owners: HashSet<(String, String)>,
    /// Accounts of this run kept as `erased:<id>`, and still there.
    kept: HashSet<String>,
    /// Anchors of earlier erasures that went with this run's organizations.
    freed_earlier: usize,
}

impl Tally {
    /// Adds one call's answers; returns how many accounts it erased.
    fn add(&mut self, done: &[StatementResult]) -> usize {
        let n = |i: usize| part(done, i).len();
        let text = |row: &Value, field: &str| row[field].as_str().unwrap_or_default().to_owned();
        self.sign_ins += n(erased::SIGN_INS);
        self.organizations += n(erased::ORGANIZATIONS);
        self.keys += n(erased::ORG_KEYS);
        self.nodes += n(erased::NODES);
        for row in part(done, erased::NEW_OWNERS) {
            self.new_owners
                .insert((text(&row, "org_id"), text(&row, "user_id")));
        }
        for row in part(done, erased::SCRUBBED) {
            self.kept.insert(text(&row, "id"));
        }
        for row in part(done, erased::ANCHORS_FREED) {
            if !self.kept.remove(&text(&row, "id")) {
                self.freed_earlier += 1;
            }
        }
        let erased_now = n(erased::SCRUBBED) + n(erased::DELETED);
        self.accounts += erased_now;
        erased_now
    }
}
