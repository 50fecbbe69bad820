//! `POST /user/refresh {"refresh_token"}` (the Flashback client; `{"refreshToken"}`, its
//! docs' spelling, too) — rotates the refresh token. Answers the client's
//! RefreshTokenResponse: `{success, token, accessToken, refreshToken, tokenId,
//! expiresAt}`, `token` being the access token again.
//!
//! The presented token is retired and a new one issued for the same sign-in (its one
//! row now holds the new token). A token that was already retired is a sign of theft:
//! the sign-in is ended, so both the thief's and the owner's tokens stop working
//! (`TOKEN_REUSED`). A token
//! whose sign-in was ended normally (logout, `DELETE /token/{id}`, a password reset)
//! answers `SESSION_ENDED`: a client must not show a theft warning after a sign-out.
//! A token past its 30 days refreshes nothing (`TOKEN_EXPIRED`), but a retired one is
//! still reuse: whoever holds its successor may have kept the sign-in alive by
//! refreshing, and the owner's old token coming back is what ends it.

use super::{error, new_session};
use crate::store::accounts::{self, Rotation};
use crate::store::Db;
use crate::{config, http};
use gatehouse_core::account::tokens::{
    issue_access, verify_refresh, verify_rotating, RevokedRefresh, Signed, ACCESS_TTL_SECONDS,
};
use gatehouse_core::account::verification::token_hash;
use gatehouse_core::account::{refresh_token_field, AccountError, ErrorCode};
use gatehouse_core::crypto::constant_time_eq;
use gatehouse_core::http::problem::Problem;
use serde_json::json;
use worker::{Env, Request, Response};

pub async fn handle(mut req: Request, env: &Env, db: &Db) -> Result<Response, Problem> {
    let config = config::require(env)?;
    let body = http::read_body(&mut req).await?;
    let presented = match refresh_token_field(&body) {
        Ok(t) => t,
        Err(e) => return Ok(error(&e)),
    };
    let now_ms = crate::clock::now_ms();
    let invalid = || {
        error(&AccountError::new(
            ErrorCode::InvalidToken,
            "Invalid refresh token",
        ))
    };
    let verify = |secret: &[u8]| verify_refresh(secret, &presented, now_ms);
    let Ok(Signed { claims, expired }) =
        verify_rotating(verify, config.jwt_secret.expose(), config.jwt_previous())
    else {
        return Ok(invalid());
    };
    crate::rate_limit::signed_in(&req, env, &config).await?;
    let lapsed = || {
        error(&AccountError::new(
            ErrorCode::TokenExpired,
            "Refresh token expired",
        ))
    };
    let Some(session) = accounts::session(db, &claims).await? else {
        // Its sign-in is gone: lapsed and swept (operations.md, "Retention"), ended by
        // a removal, or never ours.
        return Ok(if expired { lapsed() } else { invalid() });
    };
    if session.user_id != claims.sub {
        return Ok(invalid());
    }
    let reused = || {
        error(&AccountError::new(
            ErrorCode::TokenReused,
            "Refresh token already used; all sessions of this sign-in were revoked",
        ))
    };
    // Only the sign-in's current token is stored; a validly signed token of the sign-in
    // that is not the current one was retired by rotation.
    let current = session.token_id == claims.jti;
    if current
        && !constant_time_eq(
            session.token_hash.as_bytes(),
            token_hash(&presented).as_bytes(),
        )
    {
        return Ok(invalid());
    }
    // An ordinary end (logout, DELETE /token/{id}, a password reset): no theft to
    // report, and nothing left to revoke.
    let ended = || {
        error(&AccountError::new(
            ErrorCode::SessionEnded,
            "This sign-in has ended (signed out, ended from another device, or a password \
             reset); sign in again",
        ))
    };
    if !current || session.ended_at_ms.is_some() {
        let revoked = RevokedRefresh::of(!current, session.ended_for_reuse != 0);
        if revoked == RevokedRefresh::Ended {
            return Ok(ended());
        }
        accounts::revoke_family(db, &session.family_id, now_ms).await?;
        return Ok(reused());
    }
    // The sign-in's current token, past its 30 days: nobody refreshed it since.
    if expired {
        return Ok(lapsed());
    }
    let next = new_session(&config, &session.user_id, Some(&session.family_id), now_ms)?;
    let rotation = accounts::rotate_session(
        db,
        &claims.jti,
        &next.id,
        &session.family_id,
        &next.refresh_hash,
        now_ms,
        next.expires_ms,
    )
    .await?;
    // Between our read and our write, another request may have rotated this token
    // (reuse: the batch ended the sign-in) or ended the sign-in (an ordinary end).
    match rotation {
        Rotation::Rotated => {}
        Rotation::Reused => return Ok(reused()),
        Rotation::Ended => return Ok(ended()),
    }
    let access = issue_access(
        config.jwt_secret.expose(),
        &session.user_id,
        &session.org_id,
        session.email_verified_at_ms.is_some(),
        &session.family_id,
        now_ms,
    );
    Ok(http::json(
        200,
        &json!({"success": true, "token": access, "accessToken": access, "refreshToken": next.refresh_token,
                "tokenId": next.id, "expiresAt": now_ms + ACCESS_TTL_SECONDS * 1000}),
    ))
}
