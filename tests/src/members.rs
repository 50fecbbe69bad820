//! Organization member fixtures for tests: roles set and listed through the real
//! routes, and the rows and audit entries D1 holds for them.

use crate::{TestApp, TestResponse};
use serde_json::{json, Value};

/// `PUT /organization/{org}/member/{user}` with `{"orgRole": role}`, as `token`.
pub fn set_role(app: &TestApp, token: &str, org: &str, user: &str, role: u8) -> TestResponse {
    app.request_as(
        token,
        "PUT",
        &format!("/organization/{org}/member/{user}"),
        Some(&json!({ "orgRole": role })),
    )
}

/// `GET /organization/{org}/members`, as `token`.
pub fn members(app: &TestApp, token: &str, org: &str) -> TestResponse {
    app.request_as(token, "GET", &format!("/organization/{org}/members"), None)
}

/// Roles as D1 has them, by address.
pub fn stored_roles(app: &TestApp, org: &str) -> Vec<Value> {
    app.d1_query(&format!(
        "SELECT u.email, m.role FROM org_members m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = '{org}' ORDER BY u.email"
    ))
}

/// The organization's role audit entries: (member's address, action, actor's address).
pub fn role_audit(app: &TestApp, org: &str) -> Vec<Value> {
    app.d1_query(&format!(
        "SELECT s.email AS member, a.action, (SELECT email FROM users WHERE id = \
         a.actor_user_id) AS actor FROM key_audit a JOIN users s ON s.id = a.key_id \
         WHERE a.org_id = '{org}' AND a.action LIKE 'ROLE_%' ORDER BY a.at_ms, a.rowid"
    ))
}

/// `DELETE /organization/{org}/member/{user}`, as `token`: no body, as the client
/// sends its DELETEs.
pub fn remove_member(app: &TestApp, token: &str, org: &str, user: &str) -> TestResponse {
    app.request_as(
        token,
        "DELETE",
        &format!("/organization/{org}/member/{user}"),
        None,
    )
}

/// What D1 keeps of account `user`: its row's address (`None`: no row) and how many
/// sign-ins and memberships it has.
pub fn account_rows(app: &TestApp, user: &str) -> (Option<String>, u64, u64) {
    let row = &app.d1_query(&format!(
        "SELECT (SELECT email FROM users WHERE id = '{user}') AS email, \
         (SELECT count(*) FROM sign_ins WHERE user_id = '{user}') AS sign_ins, \
         (SELECT count(*) FROM org_members WHERE user_id = '{user}') AS memberships"
    ))[0];
    (
        row["email"].as_str().map(str::to_owned),
        row["sign_ins"].as_u64().unwrap_or(0),
        row["memberships"].as_u64().unwrap_or(0),
    )
}
