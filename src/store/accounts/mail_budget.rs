//! The hour's budget of mail to addresses nobody has proven (migration 0030): the
//! statements that count one such mail in the batch that makes its link — within the
//! deployment's `UNVERIFIED_MAIL_PER_HOUR` and the requesting network's
//! `UNVERIFIED_MAIL_PER_NETWORK` — and the condition that tells the rest of the batch
//! whether it was counted. Strangers may sign up with any address; bounded as a whole,
//! their mail cannot spend the sending quota that security notices and verified
//! accounts' resets need, and bounded per network, no one network spends the hour for
//! everyone else.

use gatehouse_core::account::UNVERIFIED_MAIL_WINDOW_MS;

/// The budget one mail is counted in.
pub struct UnprovenMail<'a> {
    /// `UNVERIFIED_MAIL_PER_HOUR`: the deployment's.
    pub per_hour: u32,
    /// The requesting network (core::node_secret::registering_network) and its share,
    /// `UNVERIFIED_MAIL_PER_NETWORK`: while `RATE_LIMITS` is on (the local stack's
    /// requests all come from one address) and the client's network is known.
    pub network: Option<(&'a str, u32)>,
}

/// The placeholders the statements read: the request's time, the link's token hash (a
/// random value: no other request's), and the network (only bound with one).
pub struct Placeholders {
    pub now: &'static str,
    pub by: &'static str,
    pub network: &'static str,
}

/// The deployment's row.
const ALL: &str = "'unverified'";

/// One window's count in `class`, if `gate` holds and fewer than `cap` went in the
/// window (an hour after it began, a new one begins with this mail), marked with `by`.
/// In `DO UPDATE` every right-hand side reads the row as it was.
fn upsert(class: &str, gate: &str, p: &Placeholders, cap: u32) -> String {
    let (now, by) = (p.now, p.by);
    let over = format!("window_start_ms <= excluded.window_start_ms - {UNVERIFIED_MAIL_WINDOW_MS}");
    format!(
        "INSERT INTO mail_budget (class, window_start_ms, sent, last_by) \
         SELECT {class}, {now}, 1, {by} WHERE {gate} \
         ON CONFLICT (class) DO UPDATE SET sent = CASE WHEN {over} THEN 1 ELSE sent + 1 END, \
         window_start_ms = CASE WHEN {over} THEN excluded.window_start_ms \
         ELSE window_start_ms END, last_by = excluded.last_by WHERE {over} OR sent < {cap}"
    )
}

/// The statements, in batch order, that count one mail if `condition` (SQL) holds and
/// the budget has room: with a network, two of the other networks' rows whose window
/// is over go first (their retention), then the network's share is counted if the
/// deployment's budget has room too, then the deployment's if the network's counted.
/// With a network every statement reads its placeholder, the highest one bound (D1
/// refuses more values than a statement's highest placeholder).
pub fn count(condition: &str, budget: &UnprovenMail<'_>, p: &Placeholders) -> Vec<String> {
    let Some((_, share)) = budget.network else {
        return vec![upsert(ALL, condition, p, budget.per_hour)];
    };
    let (now, by) = (p.now, p.by);
    let window = UNVERIFIED_MAIL_WINDOW_MS;
    let network = format!("'unverified@' || {}", p.network);
    let room = format!(
        "NOT EXISTS (SELECT 1 FROM mail_budget WHERE class = {ALL} \
         AND window_start_ms > {now} - {window} AND sent >= {})",
        budget.per_hour
    );
    vec![
        format!(
            "DELETE FROM mail_budget WHERE class IN (SELECT class FROM mail_budget \
             WHERE window_start_ms <= {now} - {window} AND class LIKE 'unverified@%' \
             AND class <> {network} LIMIT 2)"
        ),
        upsert(&network, &format!("{condition} AND {room}"), p, share),
        upsert(
            ALL,
            &format!(
                "EXISTS (SELECT 1 FROM mail_budget WHERE class = {network} AND last_by = {by})"
            ),
            p,
            budget.per_hour,
        ),
    ]
}

/// SQL: whether [`count`] counted the mail of the link `by`.
pub fn counted(by: &str) -> String {
    format!("EXISTS (SELECT 1 FROM mail_budget WHERE class = {ALL} AND last_by = {by})")
}
