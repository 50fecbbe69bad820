//! What booting a worker needs from outside the test: the project root, the project's
//! own wrangler (offline), one `make build` per test process, free ports, and killing
//! wrangler's whole process group afterwards (the D1 template: template.rs).

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// SIGTERM to the whole group, then SIGKILL to whatever is still there after 5 s, and
/// back once the group is gone (or after 5 s more: a process killed is gone a moment
/// after the signal, not at once).
///
/// The group's leader (wrangler) is this process's child: once it has exited it stays
/// a zombie, and a member of the group, until reaped, so it is reaped here while
/// waiting. (Without that, every stop waited the full 5 s for a zombie.)
pub fn kill_group(pgid: i32) {
    // SAFETY: plain syscalls on a process group this harness created; `waitpid` only
    // ever reaps the leader, and only if it is our child.
    unsafe { libc::kill(-pgid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut reaped = false;
    loop {
        reaped = reaped || unsafe { libc::waitpid(pgid, std::ptr::null_mut(), libc::WNOHANG) } != 0;
        if !group_alive(pgid) || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    // Reaped here, so callers need no `Child::wait` (which, once the pid is reaped,
    // could wait on an unrelated child that got the same pid).
    if !reaped {
        unsafe { libc::waitpid(pgid, std::ptr::null_mut(), 0) };
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while group_alive(pgid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether any process of the group still exists (an unreaped zombie counts).
pub fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A local secret from the `.dev.vars` every worker of the tests runs with (make setup
/// writes it), e.g. `dev_var("NODE_ENV_KEY")`.
pub fn dev_var(name: &str) -> String {
    let vars = std::fs::read_to_string(project_root().join(".dev.vars")).expect(".dev.vars");
    vars.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("{name} in .dev.vars (make setup writes it)"))
        .trim()
        .to_owned()
}

/// `wrangler` from the project's node_modules, with its Node 22 first on PATH and
/// everything that would reach the network switched off.
pub(crate) fn wrangler() -> Command {
    node_modules_bin("wrangler")
}

/// `program` from the project's node_modules/.bin (`wrangler`, or `node`: Node 22),
/// set up as [`wrangler`] is.
fn node_modules_bin(program: &str) -> Command {
    let root = project_root();
    let bin = root.join("node_modules/.bin");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new(bin.join(program));
    cmd.current_dir(&root)
        .env("PATH", path)
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("WRANGLER_SEND_METRICS", "false")
        .env("NO_UPDATE_NOTIFIER", "1");
    cmd
}

/// [`wrangler`] with its temp files (miniflare's scratch directories, the update
/// check's cache) under `state/tmp`, so they go when `state` goes, never into /tmp.
pub(crate) fn wrangler_in(state: &Path) -> Command {
    in_state(wrangler(), state)
}

/// Node 22 (for a script driving wrangler's API), temp files as [`wrangler_in`]'s.
pub(crate) fn node_in(state: &Path) -> Command {
    in_state(node_modules_bin("node"), state)
}

fn in_state(mut cmd: Command, state: &Path) -> Command {
    let tmp = state.join("tmp");
    fs::create_dir_all(&tmp).expect("create the state's tmp dir");
    cmd.env("TMPDIR", tmp);
    cmd
}

pub(crate) fn build_once() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = Command::new("make")
            .args(["--no-print-directory", "build"])
            .current_dir(project_root())
            .output()
            .expect("run make build");
        assert!(
            out.status.success(),
            "make build failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create state dir");
    for entry in fs::read_dir(from).expect("read template") {
        let entry = entry.expect("template entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy template file");
        }
    }
}

pub(crate) fn free_port() -> u16 {
    // The OS picks a free port; there is a small window before wrangler binds it,
    // which is why every app gets its own and startup failures show the log.
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}
