//! The migrated D1 state every worker starts from, made once per *run*, not once per
//! test binary: applying the migrations (`wrangler d1 migrations apply`, a node and a
//! workerd start) cost every test binary a few seconds and left a `/tmp/gatehouse-d1-*`
//! directory behind, because a `static` is never dropped.
//!
//! The template lives under `target/gatehouse-e2e/d1-<hash>`, keyed by a hash of
//! everything its content depends on (the migrations, wrangler.toml, the pinned
//! wrangler in package-lock.json), so a changed migration makes a new one and `make
//! clean` removes them all. Test binaries running at the same time each build into a
//! private directory next to it and `rename` it into place: the rename is atomic, the
//! first one wins, the others throw theirs away and use the winner's. A reader
//! therefore never sees a half-made template.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::setup::{project_root, wrangler_in};

/// A persist directory with every migration applied (see the module docs).
pub(crate) fn migrated_template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(make_template)
}

fn make_template() -> PathBuf {
    let root = project_root();
    let cache = root.join("target/gatehouse-e2e");
    let done = cache.join(format!("d1-{}", inputs_hash(&root)));
    if done.is_dir() {
        return done;
    }
    fs::create_dir_all(&cache).expect("create target/gatehouse-e2e");
    let partial = cache.join(format!(
        "partial-{}-{}",
        std::process::id(),
        nanos_since_epoch()
    ));
    let scratch = cache.join(format!(
        "scratch-{}-{}",
        std::process::id(),
        nanos_since_epoch()
    ));
    let out = wrangler_in(&scratch)
        .args(["d1", "migrations", "apply", "DB", "--local", "--persist-to"])
        .arg(&partial)
        .env("CI", "true") // never prompt
        .stdin(Stdio::null())
        .output()
        .expect("run wrangler d1 migrations apply");
    let _ = fs::remove_dir_all(&scratch);
    if !out.status.success() {
        let _ = fs::remove_dir_all(&partial);
        panic!(
            "migrations failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Atomic: either ours becomes the template, or another process's already is.
    if fs::rename(&partial, &done).is_err() {
        let _ = fs::remove_dir_all(&partial);
        assert!(done.is_dir(), "no D1 template at {}", done.display());
    }
    done
}

/// Hash of the migrations (names and bytes), wrangler.toml and package-lock.json.
fn inputs_hash(root: &Path) -> String {
    let mut migrations: Vec<PathBuf> = fs::read_dir(root.join("migrations"))
        .expect("read migrations/")
        .map(|e| e.expect("migrations entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    migrations.sort();
    let mut hasher = Sha256::new();
    for path in migrations
        .iter()
        .chain([&root.join("wrangler.toml"), &root.join("package-lock.json")])
    {
        hasher.update(path.file_name().expect("a file").as_encoded_bytes());
        hasher.update([0]);
        hasher.update(fs::read(path).expect("read a template input"));
        hasher.update([0]);
    }
    hasher
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn nanos_since_epoch() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos()
}
