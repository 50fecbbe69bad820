//! `gatehouse-cli admin revoke-key` and `end-sign-ins`: what an operator does in an
//! incident without any of the organization's tokens (docs/operations.md, "Runbook":
//! a leaked key, an account taken over). Each is what the worker itself does for the
//! organization's people (`DELETE …/key/{keyId}`, a password reset's end of every
//! sign-in), written to D1 directly, so it works while nobody can sign in.

use super::args::{FindOrgArgs, KeyTarget};
use super::{execute, now_ms, part, sql};
use crate::out::outln;
use gatehouse_core::crypto::uuid_v4;

pub fn revoke_key(t: &KeyTarget) -> Result<(), String> {
    let org = sql::checked_id(&t.org)?;
    let key = sql::checked_id(&t.key)?;
    let audit_id = uuid_v4().map_err(|e| format!("no randomness: {e}"))?;
    let results = execute(&t.place, &sql::revoke_key(org, key, &audit_id, now_ms()))?;
    if part(&results, 0).is_empty() {
        return Err(format!(
            "organization {org:?} has no active key {key:?} (show-org lists its keys)"
        ));
    }
    outln!("organization {org}: key {key} revoked; registrations it signs are refused");
    Ok(())
}

pub fn end_sign_ins(a: &FindOrgArgs) -> Result<(), String> {
    let email = sql::checked_email(&a.email)?;
    let results = execute(&a.place, &sql::end_sign_ins(&email, now_ms()))?;
    if part(&results, 0).is_empty() {
        return Err(format!("no account {email:?}"));
    }
    let ended = part(&results, 1).len();
    outln!("{email}: {ended} sign-in(s) ended; the password is unchanged (have them reset it)");
    Ok(())
}
