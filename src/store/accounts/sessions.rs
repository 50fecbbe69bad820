//! Sign-ins (one row each, migration 0012; rotation overwrites its current refresh
//! token): reading, rotating, revoking, signing out, listing — and whether an access
//! token's sign-in is still live: [`live_sign_in`] for reads and writes on the primary,
//! [`sign_in_state`] (live, ended, or not there) for reads a replica may serve, which
//! [`read_signed_in`] asks the primary again when the row is not there.

use crate::store::{changes, num, number_of, rows, text, Db, Route};
use gatehouse_core::account::tokens::{AccessClaims, RefreshClaims};
use gatehouse_core::http::problem::Problem;

/// SQL: whether the sign-in `sid` (an access token's `sid`) of user `user` is live —
/// not ended. Logout, `DELETE /token/{id}`, reuse detection and a password reset end
/// it, so an access token stops working with its sign-in, not 15 minutes later.
/// `user` and `sid` are the statement's parameter placeholders (e.g. `"?1"`). Each
/// authenticating read adds this as one more column or condition: no extra round trip.
/// It is [`sign_in_state`] with "no such row" read as ended, so the two cannot drift:
/// on the primary a missing row is not a lagging replica but a sign-in that is gone.
pub(crate) fn live_sign_in(user: &str, sid: &str) -> String {
    format!("coalesce({}, 0)", sign_in_state(user, sid))
}

/// SQL: the state of sign-in `sid` of user `user`, for reads a replica may serve: 1
/// live, 0 ended, NULL when there is no such row — on a replica, possibly one made a
/// moment ago that has not reached it ([`read_signed_in`]).
pub(crate) fn sign_in_state(user: &str, sid: &str) -> String {
    format!(
        "(SELECT live.ended_at_ms IS NULL FROM sign_ins live WHERE live.id = {sid} \
         AND live.user_id = {user})"
    )
}

/// An authenticating read that a replica may serve: asked on `route`, and when a
/// replica had no row of the caller's sign-in at all ([`sign_in_state`] NULL), once
/// more at the primary. A sign-in made a moment ago (a login, a sign-up, a refresh
/// that began a new sign-in) may not have reached the replica near the caller yet, and
/// none of them hands back a bookmark that the Flashback client would send: without
/// this its first call after signing in could be answered 401 `SESSION_ENDED`. An
/// ended sign-in is answered at once; only a token whose sign-in row is gone pays the
/// second round trip, one read, on each request until it expires (15 minutes at most):
/// deleted with a removed member's sign-ins, as one of the account's oldest past
/// `MAX_SIGN_INS_PER_USER`, or with an erased account (the maintenance deletes only
/// sign-ins long expired). `read` answers the sign-in's state and the value.
pub(crate) async fn read_signed_in<T, F, Fut>(
    db: &Db,
    route: Route,
    read: F,
) -> Result<Signed<T>, Problem>
where
    F: Fn(Route) -> Fut,
    Fut: std::future::Future<Output = Result<(Option<i64>, T), Problem>>,
{
    let (state, value) = read(route).await?;
    let (state, value) = if route == Route::Replica && (state.is_none() || db.replica_behind()) {
        db.restart_at_primary();
        read(Route::Primary).await?
    } else {
        (state, value)
    };
    Ok(signed(db, state == Some(1), value))
}

/// What an authenticated read answers when the caller's sign-in has ended.
pub enum Signed<T> {
    In(T),
    Ended,
}

/// Records on the request's [`Db`] that its caller is signed in (it may be handed a
/// bookmark), and wraps `value`.
pub(crate) fn signed<T>(db: &Db, live: bool, value: T) -> Signed<T> {
    if live {
        db.mark_signed_in();
        Signed::In(value)
    } else {
        Signed::Ended
    }
}

gatehouse_core::d1_row! {
    struct Live {
        live: i64,
    }
}

gatehouse_core::d1_row! {
    /// [`sign_in_state`]'s column.
    struct SignInState {
        live: Option<i64>,
    }
}

gatehouse_core::d1_row! {
    /// The sign-in a refresh token names, as refresh needs it.
    pub struct SessionRecord {
        /// The sign-in's id (access tokens' `sid`).
        pub family_id: String,
        /// Its current refresh token; any other token of it was retired by rotation.
        pub token_id: String,
        pub token_hash: String,
        pub ended_at_ms: Option<f64>,
        /// Ended because a retired token of it came back.
        pub ended_for_reuse: i64,
        pub user_id: String,
        pub org_id: String,
        pub email_verified_at_ms: Option<f64>,
    }
}

/// The sign-in of a refresh token: by its `sid` claim, or (tokens issued before
/// migration 0012, which have none) by its id when it is still the current one.
pub async fn session(db: &Db, claims: &RefreshClaims) -> Result<Option<SessionRecord>, Problem> {
    let db = db.trip(Route::Primary, "accounts.session");
    let statement = db.statement(
        "SELECT s.id AS family_id, s.token_id, s.token_hash, s.ended_at_ms, s.ended_for_reuse, \
         s.user_id, u.email_verified_at_ms, (SELECT org_id FROM org_members m WHERE \
         m.user_id = s.user_id ORDER BY m.created_at_ms LIMIT 1) AS org_id FROM sign_ins s \
         JOIN users u ON u.id = s.user_id WHERE s.id = ?1 OR (?1 = '' AND s.token_id = ?2)",
        &[text(&claims.sid), text(&claims.jti)],
    );
    db.first(statement).await
}

/// What rotating a sign-in's refresh token found (core::account::tokens::RevokedRefresh
/// for the two refusals).
pub enum Rotation {
    Rotated,
    /// Another request rotated the token between the read and this write: a retired
    /// token was used, so the sign-in is ended as reuse (in the same batch).
    Reused,
    /// The sign-in ended in the meantime (a sign-out, `DELETE /token/{id}`, a password
    /// reset, a removal that deleted it): an ordinary end, no theft to report.
    Ended,
}

/// Rotates the sign-in `sign_in_id` from its current token `old_id` to `new_id`: one
/// conditional update, so of two concurrent uses of one token only one rotates, and a
/// sign-in ended meanwhile does not. One batch on the primary also decides what a
/// refused rotation means: a sign-in still live whose token another request rotated is
/// ended as reuse; one that had ended keeps why it ended, and says so.
pub async fn rotate_session(
    db: &Db,
    old_id: &str,
    new_id: &str,
    sign_in_id: &str,
    new_hash: &str,
    now_ms: i64,
    expires_ms: i64,
) -> Result<Rotation, Problem> {
    let what = "accounts.rotate_session";
    let db = db.trip(Route::Primary, what);
    let args = [
        text(old_id),
        text(new_id),
        text(sign_in_id),
        text(new_hash),
        num(now_ms),
        num(expires_ms),
    ];
    let rotate = db.statement(
        "UPDATE sign_ins SET token_id = ?2, token_hash = ?4, last_used_ms = ?5, \
         expires_at_ms = ?6 WHERE id = ?3 AND token_id = ?1 AND ended_at_ms IS NULL",
        &args,
    );
    // Rotated by another request since the read: a retired token was used.
    let reused = db.statement(
        format!("{} AND token_id <> ?2", end_as_reuse("?3", "?5")),
        &args[..5],
    );
    let after = db.statement(
        "SELECT ended_for_reuse FROM sign_ins WHERE id = ?1",
        &[text(sign_in_id)],
    );
    let results = db.batch(vec![rotate, reused, after]).await?;
    if changes(&results, 0) > 0 {
        return Ok(Rotation::Rotated);
    }
    let after: Vec<serde_json::Value> = rows(&results, 2, what)?;
    let for_reuse = after
        .first()
        .and_then(|row| number_of(row, "ended_for_reuse"))
        == Some(1);
    Ok(if for_reuse {
        Rotation::Reused
    } else {
        Rotation::Ended
    })
}

/// SQL: ends the live sign-in `sign_in` at `now` (parameters) as reuse; one already
/// ended keeps why it ended.
fn end_as_reuse(sign_in: &str, now: &str) -> String {
    format!(
        "UPDATE sign_ins SET ended_at_ms = {now}, ended_for_reuse = 1 WHERE id = {sign_in} \
         AND ended_at_ms IS NULL"
    )
}

/// Ends a live sign-in as reuse (a retired refresh token came back); one already
/// ended keeps why it ended.
pub async fn revoke_family(db: &Db, family_id: &str, now_ms: i64) -> Result<(), Problem> {
    let db = db.trip(Route::Primary, "accounts.revoke_family");
    let revoke = db.statement(end_as_reuse("?1", "?2"), &[text(family_id), num(now_ms)]);
    db.batch(vec![revoke]).await?;
    Ok(())
}

/// Ends the sign-in a refresh token names (by its `sid`, or by its id for tokens
/// without one), if it is `user_id`'s; already ended or unknown changes nothing. One
/// statement. A token rotation retired ends it as reuse: whoever signs out with it is
/// not the client holding the current token, which is told so (`TOKEN_REUSED`) at its
/// next refresh instead of an ordinary `SESSION_ENDED`. Returns whether a live sign-in
/// was ended.
pub async fn sign_out(db: &Db, claims: &RefreshClaims, now_ms: i64) -> Result<bool, Problem> {
    let db = db.trip(Route::Primary, "accounts.sign_out");
    let revoke = db.statement(
        "UPDATE sign_ins SET ended_at_ms = ?4, ended_for_reuse = (token_id <> ?1) \
         WHERE ended_at_ms IS NULL AND user_id = ?2 AND (id = ?3 OR (?3 = '' AND token_id = ?1))",
        &[
            text(&claims.jti),
            text(&claims.sub),
            text(&claims.sid),
            num(now_ms),
        ],
    );
    let results = db.batch(vec![revoke]).await?;
    Ok(changes(&results, 0) > 0)
}

/// Ends the sign-in `session_id` names (its current token's id, as `GET /token` lists
/// it, or the sign-in's own id, the `tokenId` its login answered), if it is the
/// caller's, and only while the caller's own sign-in is live. One batch: the check,
/// then the conditional end. `In(false)`: no live sign-in with that id.
pub async fn end_sign_in(
    db: &Db,
    caller: &AccessClaims,
    session_id: &str,
    now_ms: i64,
) -> Result<Signed<bool>, Problem> {
    let what = "accounts.end_sign_in";
    let trip = db.trip(Route::Primary, what);
    let args = [
        text(session_id),
        text(&caller.sub),
        num(now_ms),
        text(&caller.sid),
    ];
    let live = live_sign_in("?2", "?4");
    let check = trip.statement(format!("SELECT {live} AS live"), &args);
    let revoke = trip.statement(
        format!(
            "UPDATE sign_ins SET ended_at_ms = ?3 WHERE ended_at_ms IS NULL AND user_id = ?2 \
             AND (token_id = ?1 OR id = ?1) AND {live}"
        ),
        &args,
    );
    let results = trip.batch(vec![check, revoke]).await?;
    let live = rows::<Live>(&results, 0, what)?
        .first()
        .is_some_and(|l| l.live != 0);
    Ok(signed(db, live, changes(&results, 1) > 0))
}

gatehouse_core::d1_row! {
    /// A live sign-in of a user. `id` is the sign-in's own (its login's `tokenId`, and
    /// the `sid` of its access tokens), which no refresh changes: a list read from a
    /// replica, or read while its holder refreshes, still names it for `DELETE /token`.
    pub struct LiveSession {
        pub id: String,
        pub signed_in_ms: Option<f64>,
        pub last_used_ms: f64,
        pub expires_at_ms: f64,
        pub device_info: Option<String>,
    }
}

/// The caller's live sign-ins (not ended, current token unexpired), newest use first — if the caller's own sign-in is live.
pub async fn live_sessions(
    db: &Db,
    caller: &AccessClaims,
    now_ms: i64,
) -> Result<Signed<Vec<LiveSession>>, Problem> {
    let what = "accounts.live_sessions";
    let args = &[text(&caller.sub), num(now_ms), text(&caller.sid)];
    read_signed_in(db, Route::Replica, |route| async move {
        let trip = db.trip(route, what);
        let list = trip.statement(
            "SELECT s.id, s.last_used_ms, s.expires_at_ms, \
             s.device_info, s.created_at_ms AS signed_in_ms FROM sign_ins s \
             WHERE s.user_id = ?1 AND s.ended_at_ms IS NULL AND s.expires_at_ms > ?2 \
             ORDER BY s.last_used_ms DESC",
            &args[..2],
        );
        let check = trip.statement(
            format!("SELECT {} AS live", sign_in_state("?1", "?3")),
            args,
        );
        let results = trip.batch(vec![list, check]).await?;
        let state = rows::<SignInState>(&results, 1, what)?
            .first()
            .and_then(|l| l.live);
        Ok((state, rows(&results, 0, what)?))
    })
    .await
}
