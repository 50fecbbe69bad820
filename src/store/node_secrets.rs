//! `node_secrets`: one row per node id, holding only the secret's hash, when a secret
//! was last compared with it (`seen_at_ms`, the maintenance's sweep key) and the
//! network that registered it (migration 0029), with the counts that bound them
//! (`row_counts`: all node ids, 0028; each network's, 0029).

use super::db::{Statement, Trip};
use super::{changes, num, opt_text, rows, text, Db, Route};
use gatehouse_core::http::problem::Problem;
use gatehouse_core::node_secret::{WrongSecrets, WRONG_SECRETS_WINDOW_MS};

pub enum Registration {
    /// This request inserted the row.
    Created,
    /// The node id was already registered.
    Existing,
    /// Not registered, and no room for it: the counts as the insert found them.
    NoRoom(Held),
}

/// What [`registered`] found: the node id's wrong secrets of late if it is
/// registered, and the counts of node ids held.
pub struct Lookup {
    pub wrong: Option<WrongSecrets>,
    pub held: Held,
}

/// Node ids held in all (migration 0028's count) and by one network (0029's).
#[derive(Clone, Copy)]
pub struct Held {
    pub all: i64,
    pub in_network: i64,
}

/// Node ids held, as migration 0028's triggers count them (0 if the row is missing,
/// so that a lost count never closes registrations for good). A macro so that the
/// statements holding it are `concat!`ed constants.
macro_rules! held {
    () => {
        "coalesce((SELECT row_count FROM row_counts WHERE table_name = 'node_secrets'), 0)"
    };
}

/// Node ids held by the network in the parameter `$network` (none for no network:
/// NULL names no row).
macro_rules! held_in_network {
    ($network:literal) => {
        concat!(
            "coalesce((SELECT row_count FROM row_counts \
             WHERE table_name = 'node_secrets@' || ",
            $network,
            "), 0)"
        )
    };
}

/// The statement that reads both counts (`all`, `in_network`: the network `?2`), and
/// whether `?1` is registered (`present`).
const COUNTS: &str = concat!(
    "SELECT ",
    held!(),
    " AS all_held, ",
    held_in_network!("?2"),
    " AS in_network, (SELECT count(*) FROM node_secrets WHERE node_id = ?1) AS present"
);

gatehouse_core::d1_row! {
    struct Counts {
        all_held: f64,
        in_network: f64,
        present: f64,
    }
}

/// The one row of [`COUNTS`], at `i`.
fn counts(results: &[super::StatementResult], i: usize, what: &str) -> Result<Counts, Problem> {
    Ok(rows::<Counts>(results, i, what)?
        .into_iter()
        .next()
        .unwrap_or(Counts {
            all_held: 0.0,
            in_network: 0.0,
            present: 0.0,
        }))
}

impl From<&Counts> for Held {
    fn from(c: &Counts) -> Held {
        Held {
            all: c.all_held as i64,
            in_network: c.in_network as i64,
        }
    }
}

gatehouse_core::d1_row! {
    /// A registered node id's wrong secrets of late.
    struct Counted {
        failed_attempts: f64,
        failed_since_ms: Option<f64>,
    }
}

/// `node_id`'s wrong secrets of late, if it is registered, and how many node ids are
/// held, in all and by `network`: one D1 round trip, on `route` (a replica may answer
/// the first look). It tells a new node id from a known one, refuses a locked one
/// early and a new one when there is no room before its secret is hashed; a guess is
/// compared only once [`reserve_guess`] counted it on the primary, and the insert
/// checks the room again ([`register`]).
pub async fn registered(
    db: &Db,
    node_id: &str,
    network: Option<&str>,
    route: Route,
) -> Result<Lookup, Problem> {
    let what = "node_secrets.registered";
    let trip = db.trip(route, what);
    let args = [text(node_id), opt_text(network)];
    let results = trip
        .batch(vec![
            trip.statement(
                "SELECT failed_attempts, failed_since_ms FROM node_secrets WHERE node_id = ?1",
                &[text(node_id)],
            ),
            trip.statement(COUNTS, &args),
        ])
        .await?;
    let wrong = rows::<Counted>(&results, 0, what)?
        .into_iter()
        .next()
        .map(|row| WrongSecrets {
            count: row.failed_attempts as i64,
            since_ms: row.failed_since_ms.map(|ms| ms as i64),
        });
    let mut held = Held::from(&counts(&results, 1, what)?);
    if db.replica_behind() {
        // A replica that has not seen the sweep give room back: every bound full.
        held = Held {
            all: i64::MAX,
            in_network: i64::MAX,
        };
    }
    Ok(Lookup { wrong, held })
}

gatehouse_core::d1_row! {
    struct Reservation {
        secret_hash: String,
        failed_attempts: f64,
        failed_since_ms: f64,
    }
}

/// A guess at `node_id`'s secret, counted on the primary before it is compared.
pub struct Reserved {
    pub secret_hash: String,
    /// The wrong secrets counted before this one (core decides whether it may be
    /// compared at all).
    pub before: WrongSecrets,
}

/// Counts this request as a wrong secret for `node_id` (a new window when the last
/// one is over) before its secret is compared, and returns the stored hash with the
/// count as it was: D1 runs one statement at a time, so concurrent guesses each see
/// the ones before them and a burst compares no more than guesses sent one by one. A
/// right secret, or one refused unread, gives its count back ([`take_back_guess`]).
/// Every guess that reaches the row marks the node id seen ([`mark_seen`]), a wrong
/// one too: a node id locked by someone else's wrong secrets must not lapse into the
/// sweep because its own node's right secret is refused meanwhile, and whoever guesses
/// could keep it anyway by registering it again. `None`: no such node id.
pub async fn reserve_guess(
    db: &Db,
    node_id: &str,
    now_ms: i64,
) -> Result<Option<Reserved>, Problem> {
    let what = "node_secrets.reserve_guess";
    let db = db.trip(Route::Primary, what);
    let statement = db.statement(
        "UPDATE node_secrets SET \
         failed_attempts = CASE WHEN failed_since_ms > ?2 - ?3 THEN failed_attempts + 1 ELSE 1 END, \
         failed_since_ms = CASE WHEN failed_since_ms > ?2 - ?3 THEN failed_since_ms ELSE ?2 END \
         WHERE node_id = ?1 RETURNING secret_hash, failed_attempts, failed_since_ms",
        &[text(node_id), num(now_ms), num(WRONG_SECRETS_WINDOW_MS)],
    );
    let results = db
        .batch(vec![statement, mark_seen(&db, node_id, now_ms)])
        .await?;
    Ok(rows::<Reservation>(&results, 0, what)?
        .into_iter()
        .next()
        .map(|row| Reserved {
            secret_hash: row.secret_hash,
            before: WrongSecrets {
                count: row.failed_attempts as i64 - 1,
                since_ms: Some(row.failed_since_ms as i64),
            },
        }))
}

/// Gives back the count [`reserve_guess`] took for a secret that was right, or not
/// compared because the node id was locked.
pub async fn take_back_guess(db: &Db, node_id: &str) -> Result<(), Problem> {
    let db = db.trip(Route::Primary, "node_secrets.take_back_guess");
    let statement = db.statement(
        "UPDATE node_secrets SET failed_attempts = failed_attempts - 1 \
         WHERE node_id = ?1 AND failed_attempts > 0",
        &[text(node_id)],
    );
    db.batch(vec![statement]).await?;
    Ok(())
}

/// Marks `node_id` seen at `now_ms` (what keeps it from the maintenance's sweep), at
/// most once a day ([`SEEN_RESOLUTION_MS`]) and in a statement of its own: an `UPDATE`
/// that names the column writes its index entry even when the value stays (a row
/// written, counted by D1), where one whose condition fails writes nothing.
fn mark_seen(trip: &Trip<'_>, node_id: &str, now_ms: i64) -> Statement {
    trip.statement(
        "UPDATE node_secrets SET seen_at_ms = ?2 WHERE node_id = ?1 AND ?2 - seen_at_ms >= ?3",
        &[text(node_id), num(now_ms), num(SEEN_RESOLUTION_MS)],
    )
}

/// How far a node id's `seen_at_ms` may lag: the sweep counts in days.
const SEEN_RESOLUTION_MS: i64 = 24 * 3600 * 1000;

/// The bounds a new node id is inserted within: `NODE_SECRETS_MAX` in all, and
/// `NODE_SECRETS_PER_NETWORK` for its `network` (`None`: counted in no share).
pub struct Bounds<'a> {
    pub max: u32,
    pub per_network: u32,
    pub network: Option<&'a str>,
}

/// Inserts the node unless it exists or a bound is reached: one D1 round trip
/// whatever the outcome. The primary key decides concurrent first registrations, so
/// there is no read-then-write race; the loser compares its secret as a guess
/// ([`reserve_guess`]). The counts are read in the insert itself, and D1 runs one
/// statement at a time, so concurrent new ids never pass a bound together.
pub async fn register(
    db: &Db,
    node_id: &str,
    secret_hash: &str,
    now_ms: i64,
    bounds: &Bounds<'_>,
) -> Result<Registration, Problem> {
    let what = "node_secrets.register";
    let db = db.trip(Route::Primary, what);
    let args = [
        text(node_id),
        text(secret_hash),
        num(now_ms),
        num(i64::from(bounds.max)),
        opt_text(bounds.network),
        num(i64::from(bounds.per_network)),
    ];
    // INSERT … SELECT needs its WHERE before ON CONFLICT (SQLite's upsert grammar).
    let insert = db.statement(
        concat!(
            "INSERT INTO node_secrets (node_id, secret_hash, created_at_ms, seen_at_ms, \
             network) SELECT ?1, ?2, ?3, ?3, ?5 WHERE ",
            held!(),
            " < ?4 AND ",
            held_in_network!("?5"),
            " < ?6 ON CONFLICT (node_id) DO NOTHING"
        ),
        &args,
    );
    let after = db.statement(COUNTS, &[args[0].clone(), args[4].clone()]);
    let results = db.batch(vec![insert, after]).await?;
    let after = counts(&results, 1, what)?;
    Ok(if changes(&results, 0) > 0 {
        Registration::Created
    } else if after.present > 0.0 {
        Registration::Existing
    } else {
        Registration::NoRoom(Held::from(&after))
    })
}
