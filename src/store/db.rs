//! One request's D1 handle: every round trip goes through it, so it can send each to
//! the right place, count it, and carry the caller's bookmark.
//!
//! Why: at the edge a round trip to the D1 primary costs tens to hundreds of
//! milliseconds, while a read replica is near. All queries of a request run in one D1
//! session (Sessions API) so the request sees its own writes and the response can hand
//! a signed-in caller a bookmark (`x-d1-bookmark`; [`Db::bookmark`] says who gets one);
//! a caller that sends it back reads at least that state on a replica (read-your-writes
//! across requests, as Cloudflare documents).
//!
//! Store functions ask for one of two routes per round trip:
//! - [`Route::Primary`]: writes, and reads that must see the latest state (keys that
//!   may verify a node, refresh tokens, one-time links). If it is the request's first
//!   round trip the session starts at the primary; after a replica read, a read that
//!   must reach the primary first calls [`Db::restart_at_primary`].
//! - [`Route::Replica`]: reads that may be a moment stale, because either the caller
//!   accepts that (lists, the public directory) or a conditional write that follows on
//!   the primary decides (sign-up, login, node secrets). A route makes its replica
//!   reads before any primary round trip, so a later primary read never follows one.
//!
//! Test builds (TEST_HOOKS=on) can delay each round trip (`D1_LATENCY_MS` for the
//! primary, `D1_REPLICA_LATENCY_MS` for replicas) with a timer, to make distance
//! visible locally, and `D1_BASELINE=on` sends every read to the primary (the
//! benchmark's "before" column).
//!
//! It also counts what each request costs (docs/performance.md, "What a request
//! costs"): D1 rows read and written, summed from every result's `meta` (what
//! Cloudflare bills), and KV reads and writes; and under test hooks it injects the
//! storage faults of [`Fault`] (docs/operations.md, "Overload").

use super::batch::{self, Arg, BatchError, StatementResult};
use super::storage_failure;
use gatehouse_core::config::D1Simulation;
use gatehouse_core::http::problem::Problem;
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};
use worker::{D1Database, D1DatabaseSession, Env};

/// Binding name, as declared in wrangler.toml.
pub const D1_BINDING: &str = "DB";
/// The header a bookmark travels in, both ways.
pub const BOOKMARK_HEADER: &str = "x-d1-bookmark";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Route {
    Primary,
    Replica,
}

pub struct Db {
    database: Option<D1Database>,
    /// The request's session (a `D1DatabaseSession`), opened by the first round trip.
    session: RefCell<Option<JsValue>>,
    /// Whether that session was started at a replica (first-unconstrained or the
    /// caller's bookmark), not at the primary.
    session_at_replica: Cell<bool>,
    /// The caller's bookmark, if it sent a well-formed one.
    caller_bookmark: Option<String>,
    /// Whether an authenticating read found the caller's sign-in live
    /// (accounts::signed): only then does the answer carry a bookmark.
    signed_in: Cell<bool>,
    simulation: D1Simulation,
    primary_trips: Cell<u32>,
    replica_trips: Cell<u32>,
    rows_read: Cell<u64>,
    rows_written: Cell<u64>,
    /// KV reads and writes (nonces): not D1, but the same request's storage effects,
    /// counted here so the request's log line has them all in one place. A write
    /// scheduled after the answer (`wait_until`) counts with the request that made it.
    kv_reads: Cell<u32>,
    kv_writes: Cell<u32>,
    fault: Option<Fault>,
}

/// A storage fault a test build injects into every call of its kind in one request
/// (`x-gatehouse-fault`, read only with TEST_HOOKS=on): the error text is what D1 or
/// KV answers in production, so what handles it is what runs in production.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fault {
    D1Overloaded,
    D1QueuedTooLong,
    Kv429,
    /// A session started at a replica reads a replica behind the primary: an
    /// authenticating read finds no row of the caller's sign-in (one made a moment
    /// ago, far from the primary), `/register_node_secret` finds no room (the
    /// replica has not seen the sweep give it back). What a lagging replica answers,
    /// which the local stack's one SQLite cannot lag to show.
    ReplicaBehind,
}

impl Fault {
    pub const HEADER: &'static str = "x-gatehouse-fault";

    pub fn parse(value: &str) -> Option<Fault> {
        match value {
            "d1-overloaded" => Some(Fault::D1Overloaded),
            "d1-queued-too-long" => Some(Fault::D1QueuedTooLong),
            "kv-429" => Some(Fault::Kv429),
            "replica-behind" => Some(Fault::ReplicaBehind),
            _ => None,
        }
    }
}

/// What one request cost in storage operations (what Cloudflare bills).
#[derive(Default, Clone, Copy, Debug)]
pub struct Cost {
    pub d1_primary: u32,
    pub d1_replica: u32,
    pub d1_rows_read: u64,
    pub d1_rows_written: u64,
    pub kv_reads: u32,
    pub kv_writes: u32,
}

impl Db {
    pub fn new(
        env: &Env,
        caller_bookmark: Option<String>,
        simulation: D1Simulation,
        fault: Option<Fault>,
    ) -> Db {
        Db {
            database: env.d1(D1_BINDING).ok(),
            session: RefCell::new(None),
            session_at_replica: Cell::new(false),
            caller_bookmark: caller_bookmark.filter(|b| is_bookmark(b)),
            signed_in: Cell::new(false),
            simulation,
            primary_trips: Cell::new(0),
            replica_trips: Cell::new(0),
            rows_read: Cell::new(0),
            rows_written: Cell::new(0),
            kv_reads: Cell::new(0),
            kv_writes: Cell::new(0),
            fault,
        }
    }

    /// One round trip's handle (see the module doc for the choice of route).
    pub fn trip(&self, route: Route, what: &'static str) -> Trip<'_> {
        let route = if self.simulation.baseline {
            Route::Primary
        } else {
            route
        };
        Trip {
            db: self,
            route,
            what,
        }
    }

    /// The request's session, opened by its first round trip. `Ok((session, true))`
    /// when this call opened it from the caller's bookmark.
    fn session(&self, route: Route) -> worker::Result<(D1DatabaseSession, bool)> {
        if let Some(open) = self.session.borrow().as_ref() {
            return Ok((open.clone().unchecked_into(), false));
        }
        let from_caller = route == Route::Replica && self.caller_bookmark.is_some();
        let start = match route {
            // The primary is at least as new as any bookmark.
            Route::Primary => "first-primary",
            Route::Replica => self
                .caller_bookmark
                .as_deref()
                .unwrap_or("first-unconstrained"),
        };
        let session = self.open(start)?;
        self.session_at_replica.set(route == Route::Replica);
        Ok((session, from_caller))
    }

    fn open(&self, start: &str) -> worker::Result<D1DatabaseSession> {
        let database = self
            .database
            .as_ref()
            .ok_or_else(|| worker::Error::RustError("the D1 binding is missing".into()))?;
        let session = database.with_session(Some(start))?;
        *self.session.borrow_mut() = Some(AsRef::<JsValue>::as_ref(&session).clone());
        Ok(session)
    }

    /// Whether the request's session, started at a replica, is to be answered as a
    /// replica behind the primary ([`Fault::ReplicaBehind`], test hooks only). Only
    /// [`Db::restart_at_primary`] gets past it: a [`Route::Primary`] trip in the same
    /// session may be served by the same replica.
    pub fn replica_behind(&self) -> bool {
        self.session_at_replica.get() && self.fault == Some(Fault::ReplicaBehind)
    }

    /// Drops the request's session, so that its next round trip, on
    /// [`Route::Primary`], opens one at the primary: for a read that must be asked
    /// again there because a replica's answer would refuse the caller (an
    /// authenticating read, `/register_node_secret`'s room). A [`Route::Primary`] trip
    /// alone does not: it reuses the open session, which D1 may serve from the same
    /// replica. Each caller's replica read is its request's first (a route makes its
    /// replica reads before any primary round trip), so nothing read before it is
    /// left behind. Every later trip of the request, replica reads included, then
    /// reads at least the primary's state.
    pub fn restart_at_primary(&self) {
        *self.session.borrow_mut() = None;
    }

    /// Marks the caller as signed in (a live sign-in, checked by the store).
    pub fn mark_signed_in(&self) {
        self.signed_in.set(true);
    }

    /// The bookmark to hand back: the newest state this request read or wrote — only
    /// to a signed-in caller (a bookmark is the database's global write position:
    /// anonymous callers could watch everyone's writes through it, and tell which
    /// requests wrote), and never the caller's own bookmark echoed (a forged one would
    /// come back as if D1 had vouched for it; the caller holds it already anyway).
    pub fn bookmark(&self) -> Option<String> {
        if !self.signed_in.get() {
            return None;
        }
        let session: D1DatabaseSession = self.session.borrow().clone()?.unchecked_into();
        session
            .get_bookmark()
            .ok()
            .flatten()
            .filter(|b| self.caller_bookmark.as_ref() != Some(b))
    }

    /// What the request has cost so far.
    pub fn cost(&self) -> Cost {
        Cost {
            d1_primary: self.primary_trips.get(),
            d1_replica: self.replica_trips.get(),
            d1_rows_read: self.rows_read.get(),
            d1_rows_written: self.rows_written.get(),
            kv_reads: self.kv_reads.get(),
            kv_writes: self.kv_writes.get(),
        }
    }

    /// Counts a KV read, waits the simulated distance to KV's central store, and
    /// fails as KV does under an injected 429.
    pub async fn kv_read(&self) -> worker::Result<()> {
        self.count_kv_read();
        if self.simulation.kv_latency_ms > 0 {
            let ms = u64::from(self.simulation.kv_latency_ms);
            worker::Delay::from(Duration::from_millis(ms)).await;
        }
        self.kv_fault()
    }

    /// Counts a KV read only: what [`Db::kv_read`] does before the simulated distance
    /// (`/health`'s probe, which must tell whether KV answers, near or far).
    pub fn count_kv_read(&self) {
        self.kv_reads.set(self.kv_reads.get() + 1);
    }

    /// Counts a KV write (made now or scheduled after the answer).
    pub fn kv_write(&self) -> worker::Result<()> {
        self.kv_writes.set(self.kv_writes.get() + 1);
        self.kv_fault()
    }

    fn kv_fault(&self) -> worker::Result<()> {
        match self.fault {
            Some(Fault::Kv429) => Err(worker::Error::RustError(
                "KV GET failed: 429 Too Many Requests".into(),
            )),
            _ => Ok(()),
        }
    }

    fn d1_fault(&self) -> worker::Result<()> {
        let text = match self.fault {
            Some(Fault::D1Overloaded) => "D1_ERROR: D1 DB is overloaded. Too many requests queued.",
            Some(Fault::D1QueuedTooLong) => {
                "D1_ERROR: D1 DB is overloaded. Requests queued for too long."
            }
            _ => return Ok(()),
        };
        Err(worker::Error::RustError(text.into()))
    }

    /// Adds a batch's billed rows, from each result's `meta`.
    fn count_rows(&self, results: &[StatementResult]) {
        for (read, written) in results.iter().map(StatementResult::billed_rows) {
            self.rows_read.set(self.rows_read.get() + read);
            self.rows_written.set(self.rows_written.get() + written);
        }
    }

    /// Counts a round trip only: what every trip does before the simulated distance
    /// (`/health`'s probe, which must tell whether D1 answers, near or far).
    pub fn count_trip(&self, route: Route) {
        let counter = match route {
            Route::Primary => &self.primary_trips,
            Route::Replica => &self.replica_trips,
        };
        counter.set(counter.get() + 1);
    }

    async fn count_and_wait(&self, route: Route) {
        self.count_trip(route);
        let latency_ms = match route {
            Route::Primary => self.simulation.primary_latency_ms,
            Route::Replica => self.simulation.replica_latency_ms,
        };
        if latency_ms > 0 {
            worker::Delay::from(Duration::from_millis(u64::from(latency_ms))).await;
        }
    }
}

/// D1 bookmarks are short hex-and-dash strings; anything else from a caller is
/// ignored (the request then reads as if it had sent none) rather than handed to D1.
fn is_bookmark(s: &str) -> bool {
    (1..=200).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
        && !s.starts_with("first-")
}

/// A statement of a round trip, prepared on the session when the trip runs. Its SQL
/// is borrowed when it is fixed text (most statements, and the heartbeat's, built once
/// per isolate), owned only when a caller assembles it for this request.
pub struct Statement {
    sql: Cow<'static, str>,
    args: Vec<Arg>,
}

/// One D1 round trip: its statements run once, as one atomic batch.
pub struct Trip<'a> {
    db: &'a Db,
    route: Route,
    what: &'static str,
}

impl Trip<'_> {
    pub fn statement(&self, sql: impl Into<Cow<'static, str>>, args: &[Arg]) -> Statement {
        Statement {
            sql: sql.into(),
            args: args.to_vec(),
        }
    }

    /// Runs the statements as one atomic batch.
    pub async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<StatementResult>, Problem> {
        self.try_batch(statements)
            .await
            .map_err(|e| storage_failure(self.what, e))
    }

    /// [`Trip::batch`] for callers that tell a constraint failure (a unique email or
    /// key) from a storage failure: D1's error as it is, not logged.
    pub async fn try_batch(
        &self,
        statements: Vec<Statement>,
    ) -> worker::Result<Vec<StatementResult>> {
        let (session, from_caller) = self.db.session(self.route)?;
        self.db.count_and_wait(self.route).await;
        self.db.d1_fault()?;
        let results = match self.run(&session, &statements).await {
            // A bookmark D1 does not take (forged, or from another database) must not
            // fail the request: read as if none had been sent.
            Err(BatchError::D1(e)) if from_caller => {
                worker::console_warn!("storage: {}: caller's bookmark refused: {e}", self.what);
                let session = self.db.open("first-unconstrained")?;
                self.run(&session, &statements).await
            }
            result => result,
        }?;
        self.db.count_rows(&results);
        Ok(results)
    }

    async fn run(
        &self,
        session: &D1DatabaseSession,
        statements: &[Statement],
    ) -> Result<Vec<StatementResult>, BatchError> {
        let statements: Vec<(&str, &[Arg])> = statements
            .iter()
            .map(|s| (s.sql.as_ref(), s.args.as_slice()))
            .collect();
        batch::run(session.as_ref(), &statements).await
    }

    /// Runs one statement and returns its first row.
    pub async fn first<T: gatehouse_core::d1_wire::row::FromRow>(
        &self,
        statement: Statement,
    ) -> Result<Option<T>, Problem> {
        let what = self.what;
        let results = self.batch(vec![statement]).await?;
        Ok(super::rows::<T>(&results, 0, what)?.into_iter().next())
    }
}
