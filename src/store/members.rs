//! An organization's members: listing them, and an OWNER changing one's role
//! (core::account::members says who may and why). The change is one atomic batch that
//! decides on the primary: its audit row is written only when every rule holds in that
//! batch's own view (the caller still OWNER, the organization not banned, an OWNER who
//! can act left, room in the day's changes for a grant), and the role follows its
//! audit row; the batch's reads then say which rule refused. A removal is the same
//! shape: its audit row decides, and the member's rows follow it.

use super::accounts::live_sign_in;
use super::org_changes::{
    actor_holds, budget_read, has_role, owners, owners_read, room_for_change, spent, Actor,
    Recipient, Stopped,
};
use super::{changes, num, number_of, rows, storage_failure, text, text_of, Db, Route};
use gatehouse_core::account::members::{
    audit_action, MEMBERS_LISTED, OWNER_REMOVAL_HOLD_MS, REMOVAL_ACTION,
};
use gatehouse_core::account::roles::rank;
use gatehouse_core::account::rows::PERSONAL_TABLES;
use gatehouse_core::http::problem::Problem;
use gatehouse_sql::{another_verified_owner, audited_actor, owner_mark, ERASED_USER};
use serde_json::Value;
use std::sync::LazyLock;

/// A member as listed.
pub struct MemberRow {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// The stored role name.
    pub role: String,
    pub validated: bool,
    pub joined_at_ms: i64,
}

/// A member as listed, over `org_members m` in join order (migration 0027's index,
/// which both parts of [`list`] walk and stop in).
const MEMBER: &str = "SELECT u.id, u.email, u.first_name, u.last_name, m.role, \
     u.email_verified_at_ms IS NOT NULL AS validated, m.created_at_ms \
     FROM org_members m INDEXED BY org_members_by_join JOIN users u ON u.id = m.user_id \
     WHERE m.org_id = ?1";

/// The page of [`list`]: verified members, then unverified, each in join order (built
/// once per isolate).
static MEMBERS_IN_ORDER: LazyLock<String> = LazyLock::new(|| {
    let order = "ORDER BY m.created_at_ms, m.user_id";
    format!(
        "SELECT * FROM ({MEMBER} AND u.email_verified_at_ms IS NOT NULL {order}) \
         UNION ALL SELECT * FROM ({MEMBER} AND u.email_verified_at_ms IS NULL {order}) \
         LIMIT {MEMBERS_LISTED}"
    )
});

/// The organization's members, verified ones first (anyone may sign up unverified at
/// the domain and join: such sign-ups cannot push the people who act off the list),
/// each group the earliest to join first, at most [`MEMBERS_LISTED`]; and how many
/// there are (`member_count`, kept by migration 0027's triggers). The unverified are
/// walked for only when fewer verified members fill the page (SQLite runs the second
/// half of a UNION ALL only while the LIMIT has room), so a list reads the members it
/// lists and the unverified ones among them, however large the organization.
pub async fn list(db: &Db, org_id: &str) -> Result<(Vec<MemberRow>, u64), Problem> {
    let what = "members.list";
    let db = db.trip(Route::Replica, what);
    let list = db.statement(MEMBERS_IN_ORDER.as_str(), &[text(org_id)]);
    let total = db.statement(
        "SELECT member_count AS total FROM organizations WHERE id = ?1",
        &[text(org_id)],
    );
    let results = db.batch(vec![list, total]).await?;
    let listed: Vec<Value> = rows(&results, 0, what)?;
    let total = rows::<Value>(&results, 1, what)?
        .first()
        .and_then(|row| number_of(row, "total"))
        .unwrap_or(0) as u64;
    let members = listed
        .iter()
        .map(|row| MemberRow {
            id: text_of(row, "id"),
            email: text_of(row, "email"),
            first_name: text_of(row, "first_name"),
            last_name: text_of(row, "last_name"),
            role: text_of(row, "role"),
            validated: number_of(row, "validated") == Some(1),
            joined_at_ms: number_of(row, "created_at_ms").unwrap_or(0),
        })
        .collect();
    Ok((members, total))
}

/// An OWNER's change of a member's role.
pub struct RoleChange<'a> {
    pub org_id: &'a str,
    pub user_id: &'a str,
    /// The stored name of the new role.
    pub role: &'static str,
    pub actor: Actor<'a>,
    pub audit_id: &'a str,
    pub now_ms: i64,
}

/// What a role change did.
pub enum SetRole {
    /// Changed from `from`; who is told besides the actor: the organization's verified
    /// OWNERs but the actor (a member just made OWNER among them), and the member, if
    /// verified and not one of them (an OWNER demoted by a stolen token learns of it).
    Changed {
        from: String,
        told: Vec<Recipient>,
    },
    /// The member has this role already: nothing written.
    Unchanged,
    NotMember,
    /// It would take OWNER from the last OWNER who can act.
    LastOwner,
    /// The caller stopped being OWNER, or the organization was banned, since the gate.
    Stopped(Stopped),
    /// A grant, and the day's changes are spent (core::org_changes).
    ChangesSpent {
        retry_after_seconds: u32,
    },
}

/// SQL: a member's role as its rank (core::account::roles::rank), to compare with the
/// new role's.
fn rank_of(role: &str) -> String {
    format!(
        "(CASE {role} WHEN 'OWNER' THEN {} WHEN 'ADMINISTRATOR' THEN {} ELSE {} END)",
        rank("OWNER"),
        rank("ADMINISTRATOR"),
        rank("MEMBER")
    )
}

/// SQL: the caller (parameter `actor`, signed in with `sign_in`) is still an OWNER of
/// `?1`, and still signed in.
fn actor_is_owner(actor: &str, sign_in: &str) -> String {
    actor_holds("?1", actor, sign_in, "'OWNER'")
}

/// SQL columns of a change's first read that say why the caller would be stopped
/// ([`caller_stopped`]): whether they are still an OWNER, and still signed in (each
/// read once).
fn actor_columns(actor: &str, sign_in: &str) -> String {
    format!(
        "{} AS actor_owner, {} AS actor_live",
        has_role("?1", actor, "'OWNER'"),
        live_sign_in(actor, sign_in)
    )
}

/// A change's first read: the organization `?1` (so there is a row whoever the member
/// is: the caller is checked first), the member `?2` if they are one (`m`, `u`), and
/// `columns`.
fn first_read(columns: &str) -> String {
    format!(
        "SELECT {columns}, o.banned, m.role, u.email, \
         u.email_verified_at_ms IS NOT NULL AS verified FROM organizations o \
         LEFT JOIN org_members m ON m.org_id = o.id AND m.user_id = ?2 \
         LEFT JOIN users u ON u.id = m.user_id WHERE o.id = ?1"
    )
}

/// Why the caller was stopped, if they were, from a change's [`first_read`]: checked
/// before anything about the member, in the gate's order, so the answer is what the
/// gate would give now. No row: the organization went, with its last member's
/// erasure, and the caller's sign-ins with it.
fn caller_stopped(before: Option<&Value>) -> Result<&Value, Stopped> {
    let Some(before) = before else {
        return Err(Stopped::SignedOut);
    };
    let yes = |column: &str| number_of(before, column) == Some(1);
    if !yes("actor_live") || !yes("actor_owner") || yes("banned") {
        return Err(Stopped::why(
            yes("actor_live"),
            yes("actor_owner"),
            yes("banned"),
        ));
    }
    Ok(before)
}

/// Sets the member's role, with its audit row, in one atomic batch (see the module
/// docs for the rules it holds).
pub async fn set_role(db: &Db, change: &RoleChange<'_>) -> Result<SetRole, Problem> {
    let what = "members.set_role";
    let db = db.trip(Route::Primary, what);
    let actor_owner = actor_is_owner("?4", "?9");
    let actor_columns = actor_columns("?4", "?9");
    let another_owner = another_verified_owner("?1", "?2");
    let args = [
        text(change.org_id),
        text(change.user_id),
        text(change.role),
        text(change.actor.user_id),
        text(change.audit_id),
        num(change.now_ms),
        num(i64::from(rank(change.role))),
        text(audit_action(change.role)),
        text(change.actor.sign_in),
    ];
    let before = db.statement(
        first_read(&format!(
            "{another_owner} AS another_owner, {actor_columns}"
        )),
        &args,
    );
    let audit = db.statement(
        format!(
            "INSERT INTO key_audit (id, org_id, key_id, actor_user_id, action, at_ms) \
             SELECT ?5, ?1, ?2, ?4, ?8, ?6 FROM org_members m \
             JOIN organizations o ON o.id = m.org_id \
             WHERE m.org_id = ?1 AND m.user_id = ?2 AND m.role <> ?3 AND o.banned = 0 \
             AND {actor_owner} AND (m.role <> 'OWNER' OR {another_owner}) \
             AND ({} >= ?7 OR {})",
            rank_of("m.role"),
            room_for_change("?1", "?6")
        ),
        &args,
    );
    // An OWNER made something else is marked: removable only a day later.
    let update = db.statement(
        format!(
            "UPDATE org_members SET role = ?3, {} WHERE org_id = ?1 AND user_id = ?2 \
             AND EXISTS (SELECT 1 FROM key_audit WHERE id = ?5)",
            owner_mark("?6")
        ),
        &args[..6],
    );
    let budget = budget_read(&db, change.org_id, change.now_ms);
    let owners_of = owners_read(&db, change.org_id, change.actor.user_id);
    let results = db
        .batch(vec![before, audit, update, budget, owners_of])
        .await?;
    let before: Vec<Value> = rows(&results, 0, what)?;
    let before = match caller_stopped(before.first()) {
        Ok(before) => before,
        Err(why) => return Ok(SetRole::Stopped(why)),
    };
    if before["role"].is_null() {
        return Ok(SetRole::NotMember);
    }
    let from = text_of(before, "role");
    let yes = |column: &str| number_of(before, column) == Some(1);
    if changes(&results, 2) > 0 {
        let mut told = owners(&results, 4, what)?;
        let member = change.user_id;
        if yes("verified")
            && member != change.actor.user_id
            && told.iter().all(|owner| owner.user_id != member)
        {
            told.push(Recipient {
                user_id: member.to_owned(),
                email: text_of(before, "email"),
            });
        }
        return Ok(SetRole::Changed { from, told });
    }
    Ok(if from == change.role {
        SetRole::Unchanged
    } else if from == "OWNER" && !yes("another_owner") {
        SetRole::LastOwner
    } else if let Some(retry_after_seconds) = spent(&results, 3, change.now_ms, what)? {
        SetRole::ChangesSpent {
            retry_after_seconds,
        }
    } else {
        return Err(storage_failure(what, "refused by no rule"));
    })
}

/// An OWNER's removal of a member.
pub struct Removal<'a> {
    pub org_id: &'a str,
    pub user_id: &'a str,
    pub actor: Actor<'a>,
    pub audit_id: &'a str,
    pub now_ms: i64,
}

/// What a removal did.
pub enum Removed {
    /// Removed: the organization's other verified OWNERs, told besides the actor, and
    /// the member at the address they had (told if verified).
    Done {
        owners: Vec<Recipient>,
        member: Recipient,
        verified: bool,
    },
    NotMember,
    /// The member is an OWNER (the caller too), or was one until less than
    /// [`OWNER_REMOVAL_HOLD_MS`] ago (`until_ms`: when they stopped).
    Owner {
        until_ms: Option<i64>,
    },
    /// The caller stopped being OWNER, or the organization was banned, since the gate.
    Stopped(Stopped),
    /// The day's changes are spent (core::org_changes).
    ChangesSpent {
        retry_after_seconds: u32,
    },
}

/// Removes the member in one atomic batch: the audit row is written only if the member
/// is no OWNER (nor was one in the last [`OWNER_REMOVAL_HOLD_MS`]), the caller still
/// one, the organization not banned and its day's changes not spent; then, only if it
/// was, the membership and every sign-in of the member go and, unless the member
/// belongs to another organization, their account as the operator's erasure takes it
/// (core::account::rows: their own rows, then their row, kept with nothing personal
/// while audit entries name them as actor).
pub async fn remove(db: &Db, removal: &Removal<'_>) -> Result<Removed, Problem> {
    let what = "members.remove";
    let db = db.trip(Route::Primary, what);
    let args = [
        text(removal.org_id),
        text(removal.user_id),
        text(removal.actor.user_id),
        text(removal.audit_id),
        num(removal.now_ms),
        text(REMOVAL_ACTION),
        text(removal.actor.sign_in),
    ];
    let actor_owner = actor_is_owner("?3", "?7");
    let actor_columns = actor_columns("?3", "?7");
    let before = db.statement(
        first_read(&format!("m.owner_until_ms, {actor_columns}")),
        &args,
    );
    let audit = db.statement(
        format!(
            "INSERT INTO key_audit (id, org_id, key_id, actor_user_id, action, at_ms) \
             SELECT ?4, ?1, ?2, ?3, ?6, ?5 FROM org_members m \
             JOIN organizations o ON o.id = m.org_id \
             WHERE m.org_id = ?1 AND m.user_id = ?2 AND m.role <> 'OWNER' \
             AND (m.owner_until_ms IS NULL OR m.owner_until_ms <= ?5 - {OWNER_REMOVAL_HOLD_MS}) \
             AND o.banned = 0 AND {actor_owner} AND {}",
            room_for_change("?1", "?5")
        ),
        &args,
    );
    let membership = db.statement(
        "DELETE FROM org_members WHERE org_id = ?1 AND user_id = ?2 \
         AND EXISTS (SELECT 1 FROM key_audit WHERE id = ?4)",
        &args[..4],
    );
    let mut statements = vec![
        before,
        audit,
        owners_read(&db, removal.org_id, removal.actor.user_id),
        budget_read(&db, removal.org_id, removal.now_ms),
        membership,
    ];
    // The member's rows, each bound to (?1 the member, ?2 the audit row): every sign-in
    // ends; the rest goes once the account has no organization left.
    let decided = "EXISTS (SELECT 1 FROM key_audit WHERE id = ?2)";
    let gone = format!("{decided} AND NOT EXISTS (SELECT 1 FROM org_members WHERE user_id = ?1)");
    let audited = audited_actor("?1");
    let mut follow = |sql: String| {
        statements.push(db.statement(sql, &[text(removal.user_id), text(removal.audit_id)]))
    };
    for table in PERSONAL_TABLES {
        let when = if table == "sign_ins" { decided } else { &gone };
        follow(format!("DELETE FROM {table} WHERE user_id = ?1 AND {when}"));
    }
    follow(format!(
        "UPDATE users SET {ERASED_USER} WHERE id = ?1 AND {gone} AND {audited}"
    ));
    follow(format!(
        "DELETE FROM users WHERE id = ?1 AND {gone} AND NOT {audited}"
    ));
    let results = db.batch(statements).await?;
    let before: Vec<Value> = rows(&results, 0, what)?;
    let before = match caller_stopped(before.first()) {
        Ok(before) => before,
        Err(why) => return Ok(Removed::Stopped(why)),
    };
    let yes = |column: &str| number_of(before, column) == Some(1);
    if changes(&results, 1) > 0 {
        return Ok(Removed::Done {
            owners: owners(&results, 2, what)?,
            member: Recipient {
                user_id: removal.user_id.to_owned(),
                email: text_of(before, "email"),
            },
            verified: yes("verified"),
        });
    }
    let owner_until_ms = number_of(before, "owner_until_ms");
    Ok(if before["role"].is_null() {
        Removed::NotMember
    } else if text_of(before, "role") == "OWNER" {
        Removed::Owner { until_ms: None }
    } else if let Some(until_ms) =
        owner_until_ms.filter(|&ms| ms > removal.now_ms - OWNER_REMOVAL_HOLD_MS)
    {
        Removed::Owner {
            until_ms: Some(until_ms),
        }
    } else if let Some(retry_after_seconds) = spent(&results, 3, removal.now_ms, what)? {
        Removed::ChangesSpent {
            retry_after_seconds,
        }
    } else {
        return Err(storage_failure(what, "refused by no rule"));
    })
}
