//! The tests' own SQL on an app's local D1 (setting a row up, ageing it, reading what
//! the worker stored), run on the SQLite file the running worker's D1 keeps under
//! `--persist-to` — the same database `wrangler d1 execute --local` opens, without the
//! command. That command starts node, wrangler and a second workerd over the file for
//! each call: in a full `make test-e2e` (2026-11-30, every process's CPU sampled) its
//! ~680 calls took 563 of the suite's 1,436 CPU-seconds on 2 cores (39 %, the workerd
//! each one starts not counted), more than the workers under test. What operators run
//! through wrangler (`gatehouse-cli admin`, backups, migrations) the tests still run
//! through wrangler.
//!
//! Two processes on one SQLite file is what SQLite's locking is for: miniflare keeps
//! the database in WAL mode on the native file system, so a reader here never blocks
//! the worker, and a write waits for the worker's; the worker's side does not wait,
//! so a write is made while no request is in flight ([`execute`]). As in D1, foreign
//! keys are enforced, and the statements of one call are one transaction.
//!
//! One lock the worker would still meet: the last connection to close a WAL database
//! checkpoints it under an exclusive lock, and the next to open it recovers its index
//! under one. Whoever came last — the worker's D1 closing the file ~10 s after its last
//! request, a test's read made meanwhile, an admin command's wrangler — a request
//! arriving in that moment was answered SQLITE_BUSY, a 500 (CI, 2026-12-02: a sign-up
//! while another test counted rows after a run of admin commands; reproduced: the
//! first sign-up after 12 s without a request, sent while reads ran, failed in 1 of
//! 20 tries, and in none of 65 with the file held open). So the harness keeps a
//! connection of its own open for the app's life ([`hold_open`]): no other is ever the
//! last, none recovers, and those moments do not happen.

use rusqlite::fallible_iterator::FallibleIterator;
use rusqlite::types::ValueRef;
use rusqlite::{Batch, Connection, OpenFlags, TransactionBehavior};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Whether a call may change the database: [`Access::Read`] is run with SQLite's
/// `query_only`, so SQL that writes after all fails instead of writing unguarded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

impl Access {
    /// Read for SQL that starts as a query (`SELECT`, `PRAGMA`), else Write: a read
    /// taken for a write is only slower (the caller holds requests back), and a write
    /// taken for a read fails (`query_only`).
    pub(crate) fn of(sql: &str) -> Access {
        let first = sql.split_whitespace().next().unwrap_or_default();
        if ["SELECT", "PRAGMA"]
            .iter()
            .any(|word| first.eq_ignore_ascii_case(word))
        {
            Access::Read
        } else {
            Access::Write
        }
    }
}

/// Runs `sql` (one or more statements) on the D1 database under `persist` and returns
/// the last statement's rows as D1 answers them (an object per row, by column name);
/// a failing statement (a constraint, a syntax error) is an `Err` and changes nothing.
///
/// A write must not meet one of the worker's: the worker's D1 does not wait for a
/// lock, so a write of its own that meets ours fails (SQLITE_BUSY, a 500 in a test;
/// measured: 16 of ~2,500 sign-ups while another process wrote every few milliseconds,
/// none while it only read). The caller makes sure no request is in flight
/// (lib.rs, `TestApp::d1_execute`); ours waits for any lock (the busy timeout).
pub(crate) fn execute(persist: &Path, sql: &str, access: Access) -> Result<Vec<Value>, String> {
    let file = database_file(persist)?;
    let mut db = Connection::open_with_flags(&file, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(|e| format!("open {}: {e}", file.display()))?;
    let failed = |e: rusqlite::Error| format!("{e} (in: {sql})");
    db.busy_timeout(Duration::from_secs(30)).map_err(failed)?;
    // No fsync at commit (~1-7 ms with FULL against ~20 µs): as safe from corruption in
    // WAL mode, and a test's rows need not survive a power cut.
    db.pragma_update(None, "synchronous", "NORMAL")
        .map_err(failed)?;
    db.pragma_update(None, "foreign_keys", true)
        .map_err(failed)?;
    db.pragma_update(None, "query_only", access == Access::Read)
        .map_err(failed)?;
    // A transaction that read first and then writes cannot wait for the write lock if
    // the worker wrote in between (SQLITE_BUSY_SNAPSHOT: its reads are stale): it is
    // rolled back and run again from the start.
    for pause_ms in [10, 50, 200, 1000] {
        match run(&mut db, sql) {
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
                std::thread::sleep(Duration::from_millis(pause_ms));
            }
            answer => return answer.map_err(failed),
        }
    }
    run(&mut db, sql).map_err(failed)
}

/// A connection to the D1 database file under `persist`, kept open by the harness for
/// as long as the app lives (the module doc says why). In WAL mode a connection that
/// has read once holds a shared lock on the file until it is closed, which is what
/// keeps any other connection's close from checkpointing under an exclusive lock.
/// Panics if the file cannot be opened and read.
pub(crate) fn hold_open(persist: &Path) -> Connection {
    let file = database_file(persist).unwrap_or_else(|e| panic!("{e}"));
    let db = Connection::open_with_flags(&file, OpenFlags::SQLITE_OPEN_READ_WRITE).and_then(|db| {
        let mode: String = db.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
        Ok((db, mode))
    });
    match db {
        // Reading the journal mode read the file: the shared lock is held from here.
        Ok((db, mode)) if mode == "wal" => db,
        Ok((_, mode)) => panic!(
            "{} is in journal mode {mode}, not WAL: holding it open would not keep other \
             connections' closes from taking its exclusive lock",
            file.display()
        ),
        Err(e) => panic!("the harness cannot hold {} open: {e}", file.display()),
    }
}

/// An exclusive lock on the D1 database file under `persist`, held until the answer
/// is dropped: what the dev worker holds for a few milliseconds when it closes the
/// file after ~10 s without a request (its checkpoint, when no other connection is
/// open), so that another process opening the file meanwhile is answered SQLITE_BUSY.
/// It can be taken only while no other connection has the file open: tried every
/// 200 ms until `within` is over (the caller closes its own [`hold_open`] and holds
/// requests back, so the worker closes it). SQLite's EXCLUSIVE
/// locking mode keeps the lock from the first read to the connection's end.
pub(crate) fn lock_exclusively(persist: &Path, within: Duration) -> Result<Connection, String> {
    let file = database_file(persist)?;
    let until = std::time::Instant::now() + within;
    loop {
        let attempt = Connection::open_with_flags(&file, OpenFlags::SQLITE_OPEN_READ_WRITE)
            .and_then(|db| {
                db.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
                db.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))?;
                Ok(db)
            });
        match attempt {
            Ok(db) => return Ok(db),
            Err(e) if std::time::Instant::now() >= until => {
                return Err(format!(
                    "no exclusive lock on {} within {within:?}: {e}",
                    file.display()
                ))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// One try: the statements in one transaction; the last one's rows.
fn run(db: &mut Connection, sql: &str) -> rusqlite::Result<Vec<Value>> {
    let tx = db.transaction_with_behavior(TransactionBehavior::Deferred)?;
    let mut last = Vec::new();
    let mut statements = Batch::new(&tx, sql);
    while let Some(mut statement) = statements.next()? {
        let names: Vec<String> = statement.column_names().map(String::from).collect();
        let mut rows = statement.raw_query();
        let mut answer = Vec::new();
        while let Some(row) = rows.next()? {
            let mut object = Map::new();
            for (i, name) in names.iter().enumerate() {
                object.insert(name.clone(), json(row.get_ref(i)?));
            }
            answer.push(Value::Object(object));
        }
        last = answer;
    }
    tx.commit()?;
    Ok(last)
}

/// A column's value as D1's JSON gives it: integers and reals as numbers, text as
/// strings, NULL as null (a blob as its bytes, which no test reads).
fn json(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => n.into(),
        ValueRef::Real(x) => x.into(),
        ValueRef::Text(text) => String::from_utf8_lossy(text).into_owned().into(),
        ValueRef::Blob(bytes) => bytes.to_vec().into(),
    }
}

/// The database file: miniflare names it after a hash of the database's id, beside its
/// own `metadata.sqlite`. The persist directory holds one D1 database (wrangler.toml's
/// `DB`).
fn database_file(persist: &Path) -> Result<PathBuf, String> {
    let dir = persist.join("v3/d1/miniflare-D1DatabaseObject");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.extension().is_some_and(|ext| ext == "sqlite")
                && path
                    .file_name()
                    .is_some_and(|name| name != "metadata.sqlite")
        })
        .collect();
    match files.len() {
        1 => Ok(files.remove(0)),
        n => Err(format!(
            "{n} D1 database files in {}, not one",
            dir.display()
        )),
    }
}
