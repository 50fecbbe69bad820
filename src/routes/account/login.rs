//! `POST /user/login {"email","password"}` — same body as sign-up (200).
//!
//! A wrong email and a wrong password cost the same work: an unknown email still runs
//! the KDF against a dummy hash, and every attempt not refused by what was read makes
//! the same one write before its password is checked (counting it as a failure against the account if there is one,
//! store::accounts::reserve_login_attempt; a success takes it back), so guesses sent
//! at once cannot all pass a limit that each read as not reached. The locks and who
//! they spare are in core::account::login_guard.

use super::{error, new_session, session_response, SessionUser};
use crate::store::accounts::{self, NewLogin};
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::account::login_guard::{self, Attempt, Failures, Gate};
use gatehouse_core::account::{string_field, AccountError, Email, ErrorCode};
use gatehouse_core::config::{Config, KdfHash};
use gatehouse_core::crypto::password;
use gatehouse_core::http::problem::{Family, Problem};
use gatehouse_core::http::rate_limit::client_network;
use worker::{Env, Request, Response};

pub async fn handle(mut req: Request, env: &Env, db: &Db) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let body = http::read_body(&mut req).await?;
    // deviceInfo first: its reading answers broken JSON with the whole login shape.
    let device_info = match gatehouse_core::account::device_info(&body) {
        Ok(d) => d,
        Err(e) => return Ok(error(&e)),
    };
    let (email, password_text) = match (
        string_field(&body, "email"),
        string_field(&body, "password"),
    ) {
        (Ok(e), Ok(p)) => (e, p),
        (Err(e), _) | (_, Err(e)) => return Ok(error(&e)),
    };
    let invalid = || {
        error(&AccountError::new(
            ErrorCode::InvalidCredentials,
            "Invalid email or password",
        ))
    };
    let now_ms = crate::clock::now_ms();
    let network = client_network(&crate::rate_limit::client_ip(&req));
    let email = Email::parse(&email).ok();
    let record = match &email {
        Some(email) => {
            let known_since = now_ms - login_guard::KNOWN_NETWORK_TTL_MS;
            accounts::login_record(db, email.as_str(), &network, known_since).await?
        }
        None => None,
    };
    // Guessing protection (core::account::login_guard): after too many failures this
    // network (or, past the account's ceiling, any unknown one) is refused before any
    // password check — first by what was read (no write for a lock already known),
    // then by the counters with this attempt counted in them, on the primary.
    let locked = |retry_after_seconds| {
        http::problem_response(
            &Problem::RateLimited {
                retry_after_seconds,
            },
            Family::Account,
        )
    };
    let known_network = record.as_ref().is_some_and(|r| r.known_network != 0);
    if let Some(r) = &record {
        let counter = |count: Option<f64>, since: Option<f64>| Failures {
            count: count.unwrap_or(0.0) as u32,
            window_start_ms: since.map(|ms| ms as i64),
        };
        let attempt = Attempt {
            network: counter(r.network_failures, r.network_failures_since_ms),
            account: counter(Some(r.failed_logins), r.failed_logins_since_ms),
            known_network,
        };
        if let Gate::Locked {
            retry_after_seconds,
        } = login_guard::gate(attempt, now_ms)
        {
            return Ok(locked(retry_after_seconds));
        }
    }
    // The same write for every address: one that does not parse has no account and
    // counts nowhere, but the write is made all the same.
    let counted_as = email.as_ref().map_or("", Email::as_str);
    let has_account = match count_attempt(db, counted_as, &network, now_ms, false).await? {
        Counted::Refused {
            retry_after_seconds,
        } => return Ok(locked(retry_after_seconds)),
        Counted::Admitted { has_account } => has_account,
    };
    // An account the replica still has and the primary does not (erased since): checked
    // as an unknown address, uncounted attempts never reaching a real hash.
    let record = record.filter(|_| has_account);
    let stored = record
        .as_ref()
        .map_or_else(|| dummy_hash(&config), |u| u.password_hash.clone());
    let matches = password::verify(password_text.as_bytes(), &stored).unwrap_or(false);
    let user = match record {
        Some(user) if matches => user,
        // Unknown address or wrong password: already counted.
        _ => return Ok(invalid()),
    };

    let rehash = if password::needs_rehash(
        &user.password_hash,
        config.password_kdf,
        config.password_kdf_iterations,
    ) {
        password::hash(
            password_text.as_bytes(),
            config.password_kdf,
            config.password_kdf_iterations,
        )
        .ok()
    } else {
        None
    };
    let session = new_session(&config, &user.id, None, now_ms)?;
    let first = NewLogin {
        user_id: &user.id,
        session_id: &session.id,
        refresh_hash: &session.refresh_hash,
        now_ms,
        expires_ms: session.expires_ms,
        network: &network,
        device_info: device_info.as_deref(),
        checked_hash: &user.password_hash,
        rehash: rehash.as_deref(),
    };
    let mut started = accounts::start_session(db, &first).await?;
    if !started {
        // The hash changed after the replica we read it on saw it: a reset (the old
        // password no longer signs in) or another login's rehash of this same password
        // (it still does). The primary's hash decides, checked once more.
        if let Some(current) = accounts::current_password_hash(db, &user.id).await? {
            let still = current != user.password_hash
                && password::verify(password_text.as_bytes(), &current).unwrap_or(false);
            if still {
                let again = NewLogin {
                    checked_hash: &current,
                    rehash: None,
                    ..first
                };
                started = accounts::start_session(db, &again).await?;
            }
        }
    }
    if !started {
        return Ok(invalid());
    }
    let session_user = SessionUser {
        id: &user.id,
        email: &user.email,
        name: format!("{} {}", user.first_name, user.last_name),
        org_id: &user.org_id,
        role: &user.role,
        image_url: user.image_url.as_deref(),
        email_verified: user.email_verified_at_ms.is_some(),
        verification_token_id: None,
    };
    Ok(session_response(
        200,
        &config,
        &session_user,
        &session,
        now_ms,
    ))
}

/// What [`count_attempt`] decided.
pub(super) enum Counted {
    /// Check the password; `has_account`: the primary has an account at the address.
    Admitted { has_account: bool },
    /// Refused before any check; counted all the same.
    Refused { retry_after_seconds: u32 },
}

/// Counts a password attempt for `email` from `network` as a failure before it is
/// checked (store::accounts::reserve_login_attempt) and decides, on the counters with
/// it, whether it may be checked (login_guard::admitted): login's and the verify
/// page's one guard. The account's ceiling spares networks the account signed in from
/// (as the primary reads them, with the counters), and every network if
/// `spare_ceiling` (the verify page).
pub(super) async fn count_attempt(
    db: &Db,
    email: &str,
    network: &str,
    now_ms: i64,
    spare_ceiling: bool,
) -> Result<Counted, Problem> {
    let window = login_guard::WINDOW_MS;
    let known_since = now_ms - login_guard::KNOWN_NETWORK_TTL_MS;
    let Some(reserved) =
        accounts::reserve_login_attempt(db, email, network, now_ms, window, known_since).await?
    else {
        return Ok(Counted::Admitted { has_account: false });
    };
    let attempt = Attempt {
        network: reserved.network,
        account: reserved.account,
        known_network: spare_ceiling || reserved.known_network,
    };
    Ok(match login_guard::admitted(attempt, now_ms) {
        Gate::Open => Counted::Admitted { has_account: true },
        Gate::Locked {
            retry_after_seconds,
        } => Counted::Refused {
            retry_after_seconds,
        },
    })
}

/// A well-formed hash at the current parameters that no password matches (its salt
/// and digest are fixed zeros), so unknown emails cost one full KDF run too.
fn dummy_hash(config: &Config) -> String {
    let (id, digest_len) = match config.password_kdf {
        KdfHash::Sha256 => ("pbkdf2-sha256", 43),
        KdfHash::Sha512 => ("pbkdf2-sha512", 86),
    };
    format!(
        "${id}$i={}$AAAAAAAAAAAAAAAAAAAAAA${}",
        config.password_kdf_iterations,
        "A".repeat(digest_len)
    )
}
