//! A person's requests about their data (docs/accounts.md, "A person's data"):
//! `gatehouse-cli admin export-account EMAIL`, everything stored about them, as JSON;
//! and `admin delete-account EMAIL`, to be forgotten. gatehouse has no route for it: the
//! Flashback client has no such call, and an erasure that takes organizations, keys
//! and nodes with it is for an operator to read before it happens. So the plan is
//! printed first (what goes, what stays, who becomes OWNER), `--dry-run` stops there,
//! and with `--remote` the address must be typed (or `--yes`).

use super::args::{DeleteAccountArgs, FindOrgArgs};
use super::sql::{self, erased};
use super::{askable, confirm, execute, part, print_json, rows};
use serde_json::{Map, Value};

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
    if !a.dry_run {
        askable(&a.place, ACTION)?;
    }
    let plan = execute(&a.place, &sql::erasure_plan(&email))?;
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
    println!("account {email} (user {user_id}):");
    let mut sole = Vec::new();
    for m in &memberships {
        let (org, line) = plan_line(m);
        if m["other_members"].as_u64() == Some(0) {
            sole.push(org);
        }
        println!("  {line}");
    }
    println!(
        "  its sign-ins, links, login counters and known networks are deleted; {}",
        if audited > 0 {
            format!("{audited} audit entries of organizations that stay keep its id, and its row stays with nothing personal (erased:{user_id})")
        } else {
            "so is its row".to_owned()
        }
    );
    if a.dry_run {
        println!("dry run: nothing changed");
        return Ok(());
    }
    confirm(&a.place, ACTION, &email)?;
    let sole: Vec<&str> = sole.iter().map(String::as_str).collect();
    let done = execute(&a.place, &sql::erase_account(&user_id, &sole))?;
    let n = |i: usize| part(&done, i).len();
    if n(erased::SCRUBBED) + n(erased::DELETED) == 0 {
        return Err(format!(
            "account {email:?} is still there: run the command again (it finishes what is left)"
        ));
    }
    println!(
        "deleted: {} sign-in(s), {} organization(s) with {} key(s) and {} node(s); {} new OWNER(s)",
        n(erased::SIGN_INS),
        n(erased::ORGANIZATIONS),
        n(erased::ORG_KEYS),
        n(erased::NODES),
        n(erased::NEW_OWNERS),
    );
    Ok(())
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
            "; it is BANNED, and its ban goes with it (its domain could sign up afresh)"
        } else {
            ""
        }
    } else if m["role"] == "OWNER" && count("other_owners") == 0 {
        format!(
            "organization {org} ({name:?}), {} other member(s): stays; its OWNER role passes to {}",
            count("other_members"),
            m["successor"].as_str().unwrap_or("its next member"),
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
            "other_members": 0, "other_owners": 0, "org_keys": 2, "nodes": 3, "node_envs": 1});
        let (org, line) = plan_line(&sole);
        assert_eq!(org, "o-1");
        assert!(
            line.contains(
                "its only member: deleted with its 2 key(s), 3 node(s), 1 service environment(s)"
            ) && line.contains("BANNED, and its ban goes with it"),
            "{line}"
        );
        let led = json!({"org_id": "o-2", "name": "Co", "banned": 0, "role": "OWNER",
            "other_members": 2, "other_owners": 0, "successor": "mia@co.example"});
        let (_, line) = plan_line(&led);
        assert!(
            line.ends_with("stays; its OWNER role passes to mia@co.example"),
            "{line}"
        );
        assert!(!line.contains("BANNED"), "{line}");
        let member = json!({"org_id": "o-3", "name": "Co", "banned": 1, "role": "MEMBER",
            "other_members": 4, "other_owners": 1});
        let (_, line) = plan_line(&member);
        assert!(
            line.ends_with("stays; the membership (MEMBER) goes"),
            "{line}"
        );
    }
}
