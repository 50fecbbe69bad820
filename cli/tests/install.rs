//! `cargo install --path cli`, as cli/README.md tells operators to get the CLI, works
//! from this checkout with the locked dependencies and nothing downloaded, and the
//! installed binary runs. Debug profile and a target directory of its own under
//! target/ (a `cargo test` run holds the lock on the usual one), kept between runs, so
//! only the first run builds everything. Under `make test` no cargo holds that lock
//! (tests/native-tests.sh runs the test executables directly) and tests/run-e2e.sh
//! names the build directory in `GATEHOUSE_BUILD_DIR`: the install then reuses the
//! test build's compiled dependencies (cargo's `build-dir`), and on a clean clone
//! compiles little instead of the CLI's whole tree again. Its binary still lands in
//! its own target directory, not over the one the other CLI tests run.

use std::path::Path;
use std::process::Command;

#[test]
fn cargo_install_path_cli_installs_a_working_binary() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let root = tempfile::tempdir().unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut install = Command::new(cargo);
    // Not under `cargo test` (which sets CARGO for the tests it runs): it holds the
    // build directory's lock while they run, and the install would wait for it forever.
    if let (Some(build_dir), None) = (
        std::env::var_os("GATEHOUSE_BUILD_DIR"),
        std::env::var_os("CARGO"),
    ) {
        install.env("CARGO_BUILD_BUILD_DIR", build_dir);
    }
    let out = install
        .current_dir(workspace)
        .env("CARGO_TARGET_DIR", workspace.join("target/install-check"))
        .args([
            "install",
            "--path",
            "cli",
            "--locked",
            "--offline",
            "--debug",
            "--root",
        ])
        .arg(root.path())
        .output()
        .expect("run cargo install");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let installed = root.path().join("bin/gatehouse-cli");
    let version = Command::new(&installed).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("gatehouse-cli {}", env!("CARGO_PKG_VERSION"))
    );
}
