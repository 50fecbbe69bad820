//! The emailed links' pages in a real headless Chromium (tests/browser/pages.mjs,
//! puppeteer-core and axe-core from npm, Debian's `chromium`): the worker is booted
//! here, as for every e2e test, and the script drives a browser against it, as a
//! person would use the pages (docs/development.md, "Tests", says what it checks).
//!
//! Without Chromium (`make chromium` could not install it, e.g. not root) the suite
//! is skipped, and says so on the terminal: it does not pass in silence. With
//! `GATEHOUSE_BROWSER=required` (CI sets it after installing) a missing browser fails.
//! `BROWSER_SCREENSHOTS=docs/screenshots` refreshes the README's screenshots.

use gatehouse_e2e::spawn_app;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The browser: `CHROMIUM` if set, else `chromium` on PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
}

#[test]
fn the_mailed_pages_work_in_a_real_browser() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace");
    let Some(browser) = chromium() else {
        let required = std::env::var("GATEHOUSE_BROWSER").is_ok_and(|v| v == "required");
        assert!(
            !required,
            "GATEHOUSE_BROWSER=required but no Chromium (CHROMIUM, else chromium on PATH)"
        );
        // Straight to the terminal: libtest captures print!/eprint! of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "\nSKIPPED tests/tests/browser.rs: no Chromium (`CHROMIUM`, else `chromium` on PATH: Debian's package; \
             `make chromium` installs it as root). The mailed pages were NOT tested in a \
             browser.\n"
        );
        return;
    };
    // The project's Node 22 (make's PATH has it first; cargo test alone may not).
    let local_node = root.join("node_modules/.bin/node");
    let node = if local_node.is_file() {
        local_node
    } else {
        PathBuf::from("node")
    };
    assert!(
        root.join("node_modules/puppeteer-core").is_dir(),
        "puppeteer-core is not installed: run `make setup` first"
    );
    let app = spawn_app();
    let mut cmd = Command::new(node);
    cmd.current_dir(root)
        .arg("tests/browser/pages.mjs")
        .arg(&app.base_url)
        .env("CHROMIUM", &browser);
    if let Some(dir) = std::env::var_os("BROWSER_SCREENSHOTS") {
        cmd.arg(root.join(dir));
    }
    let out = cmd.output().expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    assert!(
        out.status.success(),
        "the browser suite failed ({}):\n{stdout}\n{stderr}\nworker log:\n{}",
        out.status,
        app.log()
    );
    assert!(stdout.contains(" 0 failed"), "no summary line:\n{stdout}");
}
