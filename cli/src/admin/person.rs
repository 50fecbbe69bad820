//! People: `gatehouse-cli admin set-role ORG EMAIL ROLE` (a company asks for an
//! ADMINISTRATOR), and a person's requests about their data (docs/accounts.md, "A
//! person's data"): `admin export-account EMAIL`, everything stored about them, as
//! JSON; and `admin delete-account EMAIL`, to be forgotten.
//!
//! gatehouse has no route for any of them: the Flashback client has no such call, and
//! an erasure that takes organizations, keys and nodes with it is for an operator to
//! read before it happens. So its plan is printed first (what goes, what stays, who
//! becomes OWNER), `--dry-run` stops there, and with `--remote` the address must be
//! typed (or `--yes`).

use super::args::{DeleteAccountArgs, ErasureFlags, FindOrgArgs, SetRoleArgs};
use super::sql::{self, erased};
use super::{askable, confirm, execute, now_ms, part, print_json, rows};
use crate::out::outln;
use gatehouse_core::crypto::uuid_v4;
use serde_json::{Map, Value};

pub fn set_role(a: &SetRoleArgs) -> Result<(), String> {
    let org = sql::checked_id(&a.org)?;
    let email = sql::checked_email(&a.email)?;
    confirm(&a.place, &format!("make {email} {}", a.role), &email)?;
    let audit_id = uuid_v4().map_err(|e| format!("no randomness: {e}"))?;
    let results = execute(
        &a.place,
        &sql::set_role(org, &email, &a.role, &audit_id, now_ms()),
    )?;
    let member = part(&results, 0).into_iter().next();
    let Some(was) = member
        .as_ref()
        .and_then(|r| r["role"].as_str().map(str::to_owned))
    else {
        return Err(format!(
            "{email:?} is not a member of organization {org:?} (find-org lists theirs)"
        ));
    };
    if was == a.role {
        outln!("organization {org}: {email} is {was} already; nothing changed");
        return Ok(());
    }
    if part(&results, 2).is_empty() {
        // The one change refused: OWNER taken from the last verified OWNER.
        return Err(format!(
            "{email} stays OWNER of organization {org} until another verified member is OWNER (make one OWNER first); nothing changed"
        ));
    }
    let unverified = member.is_some_and(|r| r["verified"].as_u64() == Some(0));
    outln!(
        "organization {org}: {email} is now {} (was {was}), from their next request on; audited{}",
        a.role,
        if unverified {
            "; their address is not verified, so they cannot act until they verify it"
        } else {
            ""
        }
    );
    Ok(())
}

pub fn export_account(a: &FindOrgArgs) -> Result<(), String> {
    let email = sql::checked_email(&a.email)?;
    let results = execute(&a.place, &sql::account_export(&email))?;
    let Some(account) = part(&results, 0).into_iter().next() else {
        return Err(format!("no account {email:?}"));
    };
    let mut export = Map::new();
    export.insert("account".to_owned(), rows::readable_row(account));
    for (i, name) in sql::EXPORTED.iter().enumerate().skip(1) {
        let mut shown = rows::readable(part(&results, i));
        for row in &mut shown {
            // A sign-in's device as the client described it: JSON text, shown as JSON.
            if let Some(device) = row.get_mut("device_info") {
                if let Some(parsed) = device.as_str().and_then(|t| serde_json::from_str(t).ok()) {
                    *device = parsed;
                }
            }
        }
        export.insert((*name).to_owned(), Value::Array(shown));
    }
    print_json(&Value::Object(export));
    Ok(())
}

pub fn delete_account(a: &DeleteAccountArgs) -> Result<(), String> {
    let email = sql::checked_email(&a.email)?;
    const ACTION: &str = "delete this account";
    if !a.erasure.dry_run {
        askable(&a.erasure.place, ACTION)?;
    }
    let plan = execute(&a.erasure.place, &sql::erasure_plan(&email))?;
    let Some(user_id) = part(&plan, 0)
        .first()
        .and_then(|u| u["id"].as_str())
        .map(str::to_owned)
    else {
        return Err(format!("no account {email:?}"));
    };
    let memberships = part(&plan, 1);
    let audited = part(&plan, 2)
        .first()
        .and_then(|r| r["entries"].as_u64())
        .unwrap_or(0);
    outln!("account {email} (user {user_id}):");
    let mut sole = Vec::new();
    let mut banned = Vec::new();
    for m in &memberships {
        let (org, line) = plan_line(m);
        if m["other_members"].as_u64() == Some(0) {
            if m["banned"].as_u64().is_some_and(|b| b > 0) {
                banned.push(org.clone());
            }
            sole.push(org);
        }
        outln!("  {line}");
    }
    outln!(
        "  its sign-ins, links, login counters and known networks are deleted; {}",
        if audited > 0 {
            format!("{audited} audit entries of organizations that stay keep its id, and its row stays with nothing personal (erased:{user_id})")
        } else {
            "so is its row".to_owned()
        }
    );
    let banned: Vec<&str> = banned.iter().map(String::as_str).collect();
    if !go_on(&a.erasure, &banned, ACTION, &email)? {
        return Ok(());
    }
    let sole: Vec<&str> = sole.iter().map(String::as_str).collect();
    let done = execute(&a.erasure.place, &sql::erase_account(&user_id, &sole))?;
    let n = |i: usize| part(&done, i).len();
    if n(erased::SCRUBBED) + n(erased::DELETED) == 0 {
        return Err(format!(
            "account {email:?} is still there: run the command again (it finishes what is left)"
        ));
    }
    outln!(
        "deleted: {} sign-in(s), {} organization(s) with {} key(s) and {} node(s); {} new OWNER(s)",
        n(erased::SIGN_INS),
        n(erased::ORGANIZATIONS),
        n(erased::ORG_KEYS),
        n(erased::NODES),
        n(erased::NEW_OWNERS),
    );
    if n(erased::ANCHORS_FREED) > 0 {
        outln!(
            "also deleted: {} row(s) of accounts erased earlier that only this organization's audit still named",
            n(erased::ANCHORS_FREED)
        );
    }
    Ok(())
}

/// Once an erasure's plan is printed: `false` on a dry run (said so); refused while an
/// organization that would go is `banned` (its ban, the record of what it did, would go
/// with it) unless `--including-banned`; else the operator's confirmation that
/// `target` is meant.
pub(super) fn go_on(
    flags: &ErasureFlags,
    banned: &[&str],
    action: &str,
    target: &str,
) -> Result<bool, String> {
    if flags.dry_run {
        outln!("dry run: nothing changed");
        return Ok(false);
    }
    if !banned.is_empty() && !flags.including_banned {
        return Err(format!(
            "organization(s) {} banned: deleting them lifts the ban and frees the domain for a new sign-up. Keep the account(s) (a ground to keep abuse records may apply), or pass --including-banned; nothing changed",
            banned.join(", ")
        ));
    }
    confirm(&flags.place, action, target)?;
    Ok(true)
}

/// One organization of the plan: its id, and what happens to it.
fn plan_line(m: &Value) -> (String, String) {
    let org = m["org_id"].as_str().unwrap_or_default().to_owned();
    let name = m["name"].as_str().unwrap_or_default();
    let count = |field: &str| m[field].as_u64().unwrap_or(0);
    let line = if count("other_members") == 0 {
        format!(
            "organization {org} ({name:?}), its only member: deleted with its {} key(s), {} node(s), {} service environment(s), trial and audit",
            count("org_keys"),
            count("nodes"),
            count("node_envs"),
        ) + if count("banned") > 0 {
            "; it is BANNED: deleting it lifts the ban and frees its domain (only with --including-banned)"
        } else {
            ""
        }
    } else if m["role"] == "OWNER" && count("another_owner") == 0 {
        format!(
            "organization {org} ({name:?}), {} other member(s): stays; its OWNER role passes to {}{}",
            count("other_members"),
            m["successor"].as_str().unwrap_or("its next member"),
            if count("successor_verified") == 0 {
                " (unverified: nobody can manage it until they verify their address)"
            } else {
                ""
            },
        )
    } else {
        format!(
            "organization {org} ({name:?}), {} other member(s): stays; the membership ({}) goes",
            count("other_members"),
            m["role"].as_str().unwrap_or_default(),
        )
    };
    (org, line)
}

#[cfg(test)]
mod tests {
    use super::plan_line;
    use serde_json::json;

    #[test]
    fn the_plan_says_what_goes_what_stays_and_what_a_ban_would_lose() {
        let sole = json!({"org_id": "o-1", "name": "Ada", "banned": 1, "role": "OWNER",
            "other_members": 0, "another_owner": 0, "org_keys": 2, "nodes": 3, "node_envs": 1});
        let (org, line) = plan_line(&sole);
        assert_eq!(org, "o-1");
        assert!(
            line.contains(
                "its only member: deleted with its 2 key(s), 3 node(s), 1 service environment(s)"
            ) && line.contains("BANNED: deleting it lifts the ban"),
            "{line}"
        );
        let led = json!({"org_id": "o-2", "name": "Co", "banned": 0, "role": "OWNER",
            "other_members": 2, "another_owner": 0, "successor": "mia@co.example",
            "successor_verified": 1});
        let (_, line) = plan_line(&led);
        assert!(
            line.ends_with("stays; its OWNER role passes to mia@co.example"),
            "{line}"
        );
        assert!(!line.contains("BANNED"), "{line}");
        let unverified = json!({"org_id": "o-2", "name": "Co", "role": "OWNER",
            "other_members": 1, "another_owner": 0, "successor": "new@co.example",
            "successor_verified": 0});
        let (_, line) = plan_line(&unverified);
        assert!(
            line.contains("new@co.example (unverified: nobody can manage it"),
            "{line}"
        );
        let member = json!({"org_id": "o-3", "name": "Co", "banned": 1, "role": "MEMBER",
            "other_members": 4, "another_owner": 1});
        let (_, line) = plan_line(&member);
        assert!(
            line.ends_with("stays; the membership (MEMBER) goes"),
            "{line}"
        );
    }
}
