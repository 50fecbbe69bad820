//! Access and refresh tokens: HS256 JWTs (jwt-compact) signed with `JWT_SECRET`.
//!
//! The current time is a parameter, never read here, so expiry is testable and the
//! crate stays free of any runtime clock.

use chrono::{DateTime, Duration, Utc};
use jwt_compact::alg::{Hs256, Hs256Key};
use jwt_compact::prelude::*;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

pub const ISSUER: &str = "gatehouse";
pub const AUDIENCE: &str = "gatehouse-api";
pub const ACCESS_TTL_SECONDS: i64 = 15 * 60;
pub const REFRESH_TTL_SECONDS: i64 = 30 * 24 * 3600;
/// The most sign-ins one account keeps, live or ended: a login past it deletes the
/// least recently used, so a script that signs in on every run and never signs out
/// (or anyone repeating a known password) cannot grow `sign_ins`, or `GET /token`'s
/// list, without bound (docs/operations.md, "Retention").
pub const MAX_SIGN_INS_PER_USER: i64 = 100;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    pub org: String,
    pub email_verified: bool,
    /// The sign-in (refresh-token family) this token was issued for, so `GET /token`
    /// can mark the caller's own session. Absent in tokens issued before it existed.
    #[serde(default)]
    pub sid: String,
    pub iss: String,
    pub aud: String,
    pub typ: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshClaims {
    pub sub: String,
    /// This token's id (`tokenId` in responses); unique per rotation.
    pub jti: String,
    /// The sign-in it belongs to (migration 0012): a validly signed token of a sign-in
    /// that is not its current token is a retired one coming back (reuse). Absent in
    /// tokens issued before it existed: those are found by `jti` alone.
    #[serde(default)]
    pub sid: String,
    pub iss: String,
    pub aud: String,
    pub typ: String,
}

/// Why a refresh token whose row is revoked no longer refreshes: a client must tell a
/// possible theft (warn the person) from an ordinary sign-out (just sign in again).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevokedRefresh {
    /// Retired by rotation, or revoked because a retired token of its sign-in came
    /// back: someone else may hold this sign-in's tokens (`TOKEN_REUSED`).
    Reused,
    /// The sign-in was ended: logout, `DELETE /token/{id}`, a password reset
    /// (`SESSION_ENDED`).
    Ended,
}

impl RevokedRefresh {
    pub fn of(replaced: bool, revoked_for_reuse: bool) -> RevokedRefresh {
        if replaced || revoked_for_reuse {
            RevokedRefresh::Reused
        } else {
            RevokedRefresh::Ended
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Malformed, forged, wrong algorithm, wrong issuer/audience, or another type.
    Invalid,
    Expired,
}

trait TokenType {
    const TYP: &'static str;
    fn iss_aud_typ(&self) -> (&str, &str, &str);
}

impl TokenType for AccessClaims {
    const TYP: &'static str = "access";
    fn iss_aud_typ(&self) -> (&str, &str, &str) {
        (&self.iss, &self.aud, &self.typ)
    }
}

impl TokenType for RefreshClaims {
    const TYP: &'static str = "refresh";
    fn iss_aud_typ(&self) -> (&str, &str, &str) {
        (&self.iss, &self.aud, &self.typ)
    }
}

fn time_at(now_ms: i64) -> TimeOptions<impl Fn() -> DateTime<Utc>> {
    let now = DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
    TimeOptions::new(Duration::zero(), move || now)
}

fn issue<T: Serialize>(secret: &[u8], custom: T, now_ms: i64, ttl_seconds: i64) -> String {
    let claims = Claims::new(custom)
        .set_duration_and_issuance(&time_at(now_ms), Duration::seconds(ttl_seconds));
    // HS256 over serializable claims cannot fail.
    Hs256
        .token(
            &Header::empty().with_token_type("JWT"),
            &claims,
            &Hs256Key::new(secret),
        )
        .unwrap_or_default()
}

pub fn issue_access(
    secret: &[u8],
    user_id: &str,
    org_id: &str,
    email_verified: bool,
    sign_in_id: &str,
    now_ms: i64,
) -> String {
    let claims = AccessClaims {
        sub: user_id.to_owned(),
        org: org_id.to_owned(),
        email_verified,
        sid: sign_in_id.to_owned(),
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        typ: AccessClaims::TYP.to_owned(),
    };
    issue(secret, claims, now_ms, ACCESS_TTL_SECONDS)
}

pub fn issue_refresh(
    secret: &[u8],
    user_id: &str,
    token_id: &str,
    sign_in_id: &str,
    now_ms: i64,
) -> String {
    let claims = RefreshClaims {
        sub: user_id.to_owned(),
        jti: token_id.to_owned(),
        sid: sign_in_id.to_owned(),
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        typ: RefreshClaims::TYP.to_owned(),
    };
    issue(secret, claims, now_ms, REFRESH_TTL_SECONDS)
}

/// A token of type `T` that is ours (signature, issuer, audience, type), and whether
/// it is past its expiry; `Invalid` for anything else, expired or not.
fn verify_signed<T: DeserializeOwned + TokenType + Clone>(
    secret: &[u8],
    token: &str,
    now_ms: i64,
) -> Result<Signed<T>, TokenError> {
    let untrusted = UntrustedToken::new(token).map_err(|_| TokenError::Invalid)?;
    let token: Token<T> = Hs256
        .validator::<T>(&Hs256Key::new(secret))
        .validate(&untrusted)
        .map_err(|_| TokenError::Invalid)?;
    let claims = token.claims();
    // Type before expiry: a token of another type is invalid here, expired or not.
    if claims.custom.iss_aud_typ() != (ISSUER, AUDIENCE, T::TYP) {
        return Err(TokenError::Invalid);
    }
    Ok(Signed {
        claims: claims.custom.clone(),
        expired: claims.validate_expiration(&time_at(now_ms)).is_err(),
    })
}

fn verify<T: DeserializeOwned + TokenType + Clone>(
    secret: &[u8],
    token: &str,
    now_ms: i64,
) -> Result<T, TokenError> {
    match verify_signed(secret, token, now_ms)? {
        Signed {
            claims,
            expired: false,
        } => Ok(claims),
        Signed { expired: true, .. } => Err(TokenError::Expired),
    }
}

/// A token that is ours, expired or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed<T> {
    pub claims: T,
    pub expired: bool,
}

/// Verifies with the current secret, then (a rotation in progress) the previous one:
/// tokens signed before `JWT_SECRET` changed keep working until they expire. Only a
/// signature that does not verify tries the next secret; an expired token is expired.
pub fn verify_rotating<T>(
    verify: impl Fn(&[u8]) -> Result<T, TokenError>,
    current: &[u8],
    previous: Option<&[u8]>,
) -> Result<T, TokenError> {
    match (verify(current), previous) {
        (Err(TokenError::Invalid), Some(previous)) => verify(previous),
        (result, _) => result,
    }
}

pub fn verify_access(secret: &[u8], token: &str, now_ms: i64) -> Result<AccessClaims, TokenError> {
    verify(secret, token, now_ms)
}

/// A refresh token that is ours, expired or not (`Err` is only `Invalid`): an expired
/// one still names its sign-in, and a retired one coming back after its own expiry is
/// reuse all the same — whoever holds its successor may have kept the sign-in alive
/// by refreshing, and only the reuse ends it.
pub fn verify_refresh(
    secret: &[u8],
    token: &str,
    now_ms: i64,
) -> Result<Signed<RefreshClaims>, TokenError> {
    verify_signed(secret, token, now_ms)
}

#[cfg(test)]
mod tests {

    #[test]
    fn tokens_of_the_previous_secret_verify_during_a_rotation() {
        let old: &[u8] = b"the-old-secret-the-old-secret-xx";
        let t = issue_access(old, "u1", "o1", true, "s1", NOW);
        let with = |previous| verify_rotating(|s| verify_access(s, &t, NOW), SECRET, previous);
        assert_eq!(with(None), Err(TokenError::Invalid));
        assert_eq!(with(Some(old)).unwrap().sub, "u1");
        let expired = |previous| {
            verify_rotating(
                |s| verify_access(s, &t, NOW + ACCESS_TTL_SECONDS * 1000 + 1000),
                SECRET,
                previous,
            )
        };
        assert_eq!(expired(Some(old)), Err(TokenError::Expired));
    }

    #[test]
    fn a_revoked_refresh_token_says_whether_it_was_reused_or_its_sign_in_ended() {
        assert_eq!(RevokedRefresh::of(true, false), RevokedRefresh::Reused);
        assert_eq!(RevokedRefresh::of(false, true), RevokedRefresh::Reused);
        assert_eq!(RevokedRefresh::of(true, true), RevokedRefresh::Reused);
        assert_eq!(RevokedRefresh::of(false, false), RevokedRefresh::Ended);
    }
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn access_tokens_round_trip_and_expire_after_15_minutes() {
        let t = issue_access(SECRET, "u1", "o1", true, "s1", NOW);
        let c = verify_access(SECRET, &t, NOW + 1000).unwrap();
        assert_eq!(
            (c.sub.as_str(), c.org.as_str(), c.email_verified),
            ("u1", "o1", true)
        );
        assert!(verify_access(SECRET, &t, NOW + ACCESS_TTL_SECONDS * 1000 - 1000).is_ok());
        assert_eq!(
            verify_access(SECRET, &t, NOW + ACCESS_TTL_SECONDS * 1000 + 1000),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn a_refresh_token_names_its_sign_in_and_older_ones_name_none() {
        let t = issue_refresh(SECRET, "u1", "t2", "s1", NOW);
        let claims = verify_refresh(SECRET, &t, NOW).unwrap().claims;
        assert_eq!((claims.jti.as_str(), claims.sid.as_str()), ("t2", "s1"));
        // Issued before migration 0012: no `sid` claim, which reads as empty.
        #[derive(Serialize)]
        struct Before {
            sub: String,
            jti: String,
            iss: String,
            aud: String,
            typ: String,
        }
        let before = Before {
            sub: "u1".into(),
            jti: "t1".into(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            typ: "refresh".into(),
        };
        let old = issue(SECRET, before, NOW, REFRESH_TTL_SECONDS);
        let claims = verify_refresh(SECRET, &old, NOW).unwrap().claims;
        assert_eq!((claims.jti.as_str(), claims.sid.as_str()), ("t1", ""));
    }

    #[test]
    fn forged_and_cross_type_tokens_are_invalid() {
        let access = issue_access(SECRET, "u1", "o1", true, "s1", NOW);
        let refresh = issue_refresh(SECRET, "u1", "s1", "s1", NOW);
        assert_eq!(
            verify_refresh(SECRET, &refresh, NOW).unwrap().claims.jti,
            "s1"
        );
        assert_eq!(
            verify_access(SECRET, &refresh, NOW),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            verify_refresh(SECRET, &access, NOW),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            verify_access(b"another-secret-another-secret-xx", &access, NOW),
            Err(TokenError::Invalid)
        );
        let mut tampered = access.clone();
        tampered.insert(tampered.len() - 2, 'A');
        assert_eq!(
            verify_access(SECRET, &tampered, NOW),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            verify_access(SECRET, "not.a.jwt", NOW),
            Err(TokenError::Invalid)
        );
        // alg=none is not HS256.
        let none = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSJ9.";
        assert_eq!(verify_access(SECRET, none, NOW), Err(TokenError::Invalid));
    }

    #[test]
    fn refresh_tokens_live_30_days_and_still_name_their_sign_in_after() {
        let t = issue_refresh(SECRET, "u1", "t1", "s1", NOW);
        let at = |ms| verify_refresh(SECRET, &t, ms).unwrap();
        assert!(!at(NOW + (REFRESH_TTL_SECONDS - 1) * 1000).expired);
        let after = at(NOW + (REFRESH_TTL_SECONDS + 1) * 1000);
        assert!(after.expired);
        assert_eq!(
            (after.claims.jti.as_str(), after.claims.sid.as_str()),
            ("t1", "s1")
        );
        // Expired or not, only our own refresh tokens.
        let later = NOW + (REFRESH_TTL_SECONDS + 1) * 1000;
        let access = issue_access(SECRET, "u1", "o1", true, "s1", NOW);
        assert_eq!(
            verify_refresh(SECRET, &access, later),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            verify_refresh(b"another-secret-another-secret-xx", &t, later),
            Err(TokenError::Invalid)
        );
    }
}
