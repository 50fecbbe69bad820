//! `gatehouse-cli admin block-domain`, `unblock-domain` and `blocked-domains`: the
//! domains whose addresses (and their subdomains') the worker refuses at sign-up
//! (migration 0025). A catch-all domain's script signs up again after
//! `delete-accounts-at`; a block keeps it out. Accounts already there are untouched.

use super::args::{DomainTarget, Place};
use super::{confirm, execute, now_ms, part, print_json, rows, sql};
use crate::out::outln;
use serde_json::json;

pub fn block(t: &DomainTarget) -> Result<(), String> {
    let domain = sql::checked_domain(&t.domain)?;
    confirm(&t.place, "block sign-ups at a domain", &domain)?;
    let results = execute(&t.place, &sql::block_domain(&domain, now_ms()))?;
    let Some(block) = part(&results, 2).into_iter().next() else {
        return Err(format!("the block of {domain:?} was not stored"));
    };
    let new = !part(&results, 1).is_empty();
    print_json(&rows::readable_row(block));
    if part(&results, 0).first().is_some_and(|r| r["free"] != 0) {
        eprintln!(
            "note: {domain} is a free-mail provider's domain: its addresses are different \
             people's, and none of them can sign up now (`unblock-domain {domain}` lifts it)"
        );
    }
    if let Some(parent) = part(&results, 3).first() {
        let parent = parent["domain"].as_str().unwrap_or_default();
        eprintln!(
            "note: the block of {parent} already refuses sign-ups at {domain}; this one \
             holds on if that one is lifted"
        );
    }
    if new {
        eprintln!(
            "sign-ups at {domain} and its subdomains are refused from now on; accounts \
             already there stay (`admin delete-accounts-at {domain} \
             --including-subdomains` erases them)"
        );
    } else {
        eprintln!("{domain} was already blocked (since the time above): nothing changed");
    }
    Ok(())
}

pub fn unblock(t: &DomainTarget) -> Result<(), String> {
    let domain = sql::checked_domain(&t.domain)?;
    let results = execute(&t.place, &sql::unblock_domain(&domain))?;
    let lifted = !part(&results, 0).is_empty();
    let parent = part(&results, 1)
        .first()
        .map(|p| p["domain"].as_str().unwrap_or_default().to_owned());
    match (lifted, parent) {
        (true, None) => outln!("{domain}: sign-ups accepted again"),
        (true, Some(parent)) => outln!(
            "{domain}: its own block lifted; sign-ups there are still refused by the block \
             of {parent} (`unblock-domain {parent}` lifts that one)"
        ),
        (false, Some(parent)) => {
            return Err(format!(
                "{domain:?} has no block of its own: sign-ups there are refused by the \
                 block of {parent} (`unblock-domain {parent}` lifts it)"
            ))
        }
        (false, None) => {
            return Err(format!(
                "{domain:?} is not blocked (blocked-domains lists the blocks)"
            ))
        }
    }
    Ok(())
}

pub fn list(place: &Place) -> Result<(), String> {
    let results = execute(place, &sql::blocked_domains())?;
    print_json(&json!(rows::readable(part(&results, 0))));
    Ok(())
}
