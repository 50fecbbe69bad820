//! Backups for the restore drill (tests/tests/backup_restore.rs): `wrangler d1 export`
//! of a running worker's local D1, and a new worker booted over a database that holds
//! nothing but that export, as an operator restores one (docs/backups.md).

use std::fs;
use std::path::Path;
use std::process::Stdio;

use crate::setup::wrangler_in;
use crate::{boot_over, TestApp};

impl TestApp {
    /// `wrangler d1 export DB --local --output <to>`: schema and data as SQL, the
    /// command an operator runs (with `--remote`) for an off-Cloudflare copy.
    pub fn d1_export(&self, to: &Path) {
        // `d1 export` has no --persist-to: it reads `.wrangler/state` next to its
        // wrangler.toml, so a copy of the config sits in a directory whose
        // `.wrangler/state` is this app's persist directory.
        let cwd = self.state_dir().join("export-cwd");
        fs::create_dir_all(cwd.join(".wrangler")).expect("export cwd");
        fs::copy(
            crate::project_root().join("wrangler.toml"),
            cwd.join("wrangler.toml"),
        )
        .expect("copy wrangler.toml");
        let link = cwd.join(".wrangler/state");
        if !link.exists() {
            std::os::unix::fs::symlink(self.persist_dir(), &link).expect("state link");
        }
        // The harness holds the file open (d1_file): no other connection's close takes
        // the exclusive lock the export would meet.
        let one_at_a_time = self.d1_lock();
        let out = wrangler_in(self.state_dir())
            .current_dir(&cwd)
            .args(["d1", "export", "DB", "--local", "--output"])
            .arg(to)
            .stdin(Stdio::null())
            .output()
            .expect("run wrangler d1 export");
        drop(one_at_a_time);
        assert!(
            out.status.success() && to.exists(),
            "d1 export failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Boots the worker over a fresh local D1 into which `dump` (a `wrangler d1 export`)
/// was imported with `wrangler d1 execute --file` — no migration run, no template: the
/// export alone must carry schema, migration history and data. KV starts empty, as it
/// would in a restore (nonces are not part of a D1 backup).
pub fn spawn_app_restored(dump: &Path) -> TestApp {
    boot_over(
        &[],
        |persist| {
            fs::create_dir_all(persist).expect("persist dir");
            let scratch = persist.parent().expect("state dir");
            let out = wrangler_in(scratch)
                .args(["d1", "execute", "DB", "--local", "--yes", "--persist-to"])
                .arg(persist)
                .arg("--file")
                .arg(dump)
                .stdin(Stdio::null())
                .output()
                .expect("run wrangler d1 execute --file");
            assert!(
                out.status.success(),
                "restore failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        },
        |_| None,
    )
}
