//! `/organization/{idOrg}/…`: an organization's keys, nodes, service environments and
//! members, for its members (reading) and its OWNERs and ADMINISTRATORs (changing; roles
//! and members: OWNERs only), through the one authorization gate in routes::account.

pub mod audit_list;
pub mod key_create;
pub mod key_list;
pub mod key_revoke;
pub mod keys_revoke_all;
pub mod member_remove;
pub mod member_role;
pub mod members_list;
pub mod node_delete;
pub mod node_env_delete;
pub mod node_env_list;
pub mod node_env_put;
pub mod nodes_list;

use crate::http;
use gatehouse_core::http::problem::{Family, Problem};
use worker::Response;

/// 429 with `Retry-After`: the organization has made its day's key, environment and
/// role changes (core::org_changes); the routes that grant or add answer it.
fn changes_spent(retry_after_seconds: u32) -> Response {
    http::problem_response(
        &Problem::RateLimited {
            retry_after_seconds,
        },
        Family::Account,
    )
}
