//! `spawn_app()`: the real worker, booted for one test.
//!
//! Builds the worker once per test process (`make build`, a no-op when up to date),
//! applies the D1 migrations once into a template state directory, then for each test
//! copies that state into a fresh temp dir and starts `wrangler dev` (workerd with
//! local D1, KV and email) on free loopback ports. Tests therefore share nothing and
//! run in parallel. Dropping the [`TestApp`] kills wrangler's whole process group
//! (wrangler, workerd, esbuild), also when the test panics.

use std::fs;
use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

pub mod accounts;
pub mod flashback;
mod http;
pub mod nodes;
pub use http::TestResponse;

/// How long a `wrangler dev` may take to answer its first request.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(90);

pub struct TestApp {
    /// e.g. `http://127.0.0.1:41234`
    pub base_url: String,
    agent: ureq::Agent,
    child: Child,
    state: TempDir,
    /// A wrangler config other than the project's (see [`spawn_app_without_binding`]).
    config: Option<PathBuf>,
}

/// Boots the worker with the test defaults: test hooks on and a fast password KDF.
pub fn spawn_app() -> TestApp {
    spawn_app_with(&[])
}

/// Like [`spawn_app`], with extra `[vars]` overrides (`--var NAME:VALUE`).
pub fn spawn_app_with(vars: &[(&str, &str)]) -> TestApp {
    boot(vars, |_| None)
}

/// Boots the worker from a copy of wrangler.toml without the binding table that
/// declares `binding` (e.g. `[[kv_namespaces]]` for `NONCES`): that dependency is
/// down for the whole run, every call to it fails.
pub fn spawn_app_without_binding(binding: &str) -> TestApp {
    boot(&[], |state| {
        let config = state.join("wrangler.toml");
        let text = fs::read_to_string(project_root().join("wrangler.toml")).expect("wrangler.toml");
        fs::write(
            &config,
            config_without_binding(&text, binding, &project_root()),
        )
        .expect("write config");
        // wrangler reads local secrets next to the config it is given.
        fs::copy(project_root().join(".dev.vars"), state.join(".dev.vars"))
            .expect("copy .dev.vars");
        Some(config)
    })
}

/// Boots another worker (e.g. the benchmark's plain-JS comparison worker) from its own
/// wrangler config, over the same migrated D1 and fresh KV.
pub fn spawn_worker(config: &Path) -> TestApp {
    let config = config.to_path_buf();
    boot(&[], move |_| Some(config))
}

fn boot(vars: &[(&str, &str)], config: impl FnOnce(&Path) -> Option<PathBuf>) -> TestApp {
    build_once();
    let state = tempfile::Builder::new()
        .prefix("gatehouse-e2e-")
        .tempdir()
        .expect("temp dir");
    copy_dir(migrated_template(), &state.path().join("persist"));
    let config = config(state.path());
    let (child, port) = start_wrangler(state.path(), config.as_deref(), vars);
    let mut app = TestApp {
        base_url: format!("http://127.0.0.1:{port}"),
        agent: ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(60))
            .build(),
        child,
        state,
        config,
    };
    app.start_until_ready(vars);
    app
}

/// `text` (a wrangler.toml) without the table holding `binding = "<binding>"`, its
/// relative paths made absolute so the copy works from anywhere.
fn config_without_binding(text: &str, binding: &str, root: &Path) -> String {
    let root = root.display();
    let mut tables: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with('[') || tables.is_empty() {
            tables.push(String::new());
        }
        let table = tables.last_mut().expect("pushed above");
        table.push_str(line);
        table.push('\n');
    }
    let declaration = format!("binding = \"{binding}\"");
    let before = tables.len();
    tables.retain(|t| !t.lines().any(|l| l.trim() == declaration));
    assert_eq!(tables.len() + 1, before, "one table declares {declaration}");
    tables
        .concat()
        .replace("main = \"src/", &format!("main = \"{root}/src/"))
        .replace(
            "migrations_dir = \"",
            &format!("migrations_dir = \"{root}/"),
        )
        .replace(
            "[build]\n",
            &format!("[build]\ncwd = \"{root}\"\nwatch_dir = \"{root}/src\"\n"),
        )
}

/// Starts `wrangler dev` on free ports over `state/persist`, logging to
/// `state/wrangler.log` (appending, so a restart keeps the earlier log).
fn start_wrangler(state: &Path, config: Option<&Path>, vars: &[(&str, &str)]) -> (Child, u16) {
    let port = free_port();
    let inspector_port = free_port();
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(state.join("wrangler.log"))
        .expect("log file");
    let mut cmd = wrangler();
    cmd.args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string()])
        .args(["--inspector-port", &inspector_port.to_string()])
        .arg("--persist-to")
        .arg(state.join("persist"))
        // Default log level: `--log-level info` would hide the worker's console output.
        .arg("--show-interactive-dev-session=false");
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    let defaults = [
        ("TEST_HOOKS", "on"),
        ("PUBLIC_URL", &*format!("http://127.0.0.1:{port}")),
        // Tests exercise hashing logic, not its cost; one test runs the real setting.
        ("PASSWORD_KDF_ITERATIONS", "1000"),
        // Many tests send bursts from one address; tests/tests/rate_limits.rs turns it on.
        ("RATE_LIMITS", "off"),
    ];
    for (name, value) in defaults.iter().chain(vars) {
        cmd.arg("--var").arg(format!("{name}:{value}"));
    }
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log)
        // Its own process group, so Drop can kill wrangler and everything it started.
        .process_group(0);
    (cmd.spawn().expect("start wrangler dev"), port)
}

impl TestApp {
    /// Stops the worker and starts it again over the same D1/KV state with other
    /// `[vars]`: a configuration change (or a fault fixed) between two requests.
    pub fn restart_with(&mut self, vars: &[(&str, &str)]) {
        kill_group(self.process_group());
        let _ = self.child.wait();
        let (child, port) = start_wrangler(self.state.path(), self.config.as_deref(), vars);
        self.child = child;
        self.base_url = format!("http://127.0.0.1:{port}");
        self.start_until_ready(vars);
    }

    /// Waits for the started wrangler; if it lost a port race (a free port taken by a
    /// parallel test before wrangler bound it), starts it again on new ports.
    fn start_until_ready(&mut self, vars: &[(&str, &str)]) {
        for _ in 0..3 {
            if self.wait_until_ready() {
                return;
            }
            let (child, port) = start_wrangler(self.state.path(), self.config.as_deref(), vars);
            self.child = child;
            self.base_url = format!("http://127.0.0.1:{port}");
        }
        panic!(
            "wrangler dev lost the port race three times:\n{}",
            self.log()
        );
    }
}

impl TestApp {
    /// `true` once the worker answers; `false` if wrangler exited because a port was
    /// taken; panics on any other failure.
    fn wait_until_ready(&mut self) -> bool {
        let started = Instant::now();
        let log_before = self.log().len();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = self.log();
                if log
                    .get(log_before..)
                    .unwrap_or(&log)
                    .contains("Address already in use")
                {
                    return false;
                }
                panic!("wrangler dev exited early ({status}):\n{log}");
            }
            // Our worker's JSON answer (health may be 503) means it is serving. Anything
            // else on the port (seen: another wrangler's inspector answering 403
            // "Forbidden" after winning the free-port race) is not ours: keep waiting,
            // and the exit check above restarts on new ports.
            let probe = self
                .agent
                .get(&self.url("/health"))
                .timeout(Duration::from_secs(2))
                .call();
            let ours = |r: &ureq::Response| r.content_type() == "application/json";
            match probe {
                Ok(r) | Err(ureq::Error::Status(_, r)) if ours(&r) => return true,
                _ if started.elapsed() < STARTUP_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Ok(r) | Err(ureq::Error::Status(_, r)) => panic!(
                    "after {STARTUP_TIMEOUT:?} the port answers, but not as this worker \
                     ({} {}):\n{}",
                    r.status(),
                    r.content_type(),
                    self.log()
                ),
                Err(e) => panic!(
                    "worker not ready after {STARTUP_TIMEOUT:?}: {e}\n{}",
                    self.log()
                ),
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Everything wrangler and the worker printed so far (console output included).
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = fs::File::open(self.state.path().join("wrangler.log")) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    /// Waits (up to 10 s) until the log contains `needle`, then returns the whole log.
    /// Worker console output reaches wrangler's log after the response, not with it.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if log.contains(needle) || Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Where this app's local D1/KV state lives: `--persist-to` for wrangler commands
    /// (and `gatehouse-cli admin … --local --persist-to`).
    pub fn persist_dir(&self) -> PathBuf {
        self.state.path().join("persist")
    }

    /// Runs SQL against this app's own local D1 (through `wrangler d1 execute`, the
    /// same database file the running worker uses) and returns the last statement's
    /// rows; panics if the SQL fails.
    pub fn d1_query(&self, sql: &str) -> Vec<Value> {
        self.d1_execute(sql).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`TestApp::d1_query`], but a failing statement (e.g. a constraint) is an
    /// `Err` with wrangler's output.
    pub fn d1_execute(&self, sql: &str) -> Result<Vec<Value>, String> {
        let out = wrangler()
            .args(["d1", "execute", "DB", "--local", "--json", "--persist-to"])
            .arg(self.persist_dir())
            .args(["--command", sql])
            .stdin(Stdio::null())
            .output()
            .expect("run wrangler d1 execute");
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "d1 execute failed: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let parsed: Value =
            serde_json::from_str(&stdout).map_err(|e| format!("d1 output ({e}): {stdout}"))?;
        match parsed
            .as_array()
            .and_then(|a| a.last())
            .map(|r| &r["results"])
        {
            Some(Value::Array(rows)) => Ok(rows.clone()),
            _ => Err(format!("unexpected d1 output: {stdout}")),
        }
    }

    /// Inserts an organization (if new) and an active public key for it, straight into
    /// D1: the HTTP endpoints that manage keys come later and are tested on their own.
    pub fn seed_org_key(&self, org_id: &str, key_id: &str, public_key_pem: &str, bits: usize) {
        self.d1_query(&format!(
            "INSERT OR IGNORE INTO organizations (id, name, created_at_ms) VALUES ('{org_id}', 'Org {org_id}', 0); \
             INSERT INTO org_keys (id, org_id, public_key_pem, bits, created_at_ms) \
             VALUES ('{key_id}', '{org_id}', '{public_key_pem}', {bits}, 0);"
        ));
    }

    /// Process group id of wrangler dev and its children (for leak checks).
    pub fn process_group(&self) -> i32 {
        self.child.id() as i32
    }

    /// Messages the worker sent through the `EMAIL` binding (summaries: from, to,
    /// subject, messageId, sentAt), as listed by the dev server's local email explorer.
    pub fn sent_emails(&self) -> Vec<Value> {
        let listing = self.get("/cdn-cgi/local/explorer/api/local/email/sending");
        assert_eq!(listing.status, 200, "email explorer: {}", listing.body);
        match listing.json()["result"].clone() {
            Value::Array(items) => items,
            other => panic!("unexpected email explorer answer: {other}"),
        }
    }
}

/// One sent message, in full.
#[derive(Debug, Clone)]
pub struct SentEmail {
    pub to: Vec<String>,
    pub from: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl SentEmail {
    /// The first `http(s)://…` link in the text part.
    pub fn first_link(&self) -> Option<String> {
        let start = self
            .text
            .find("http://")
            .or_else(|| self.text.find("https://"))?;
        Some(self.text[start..].split_whitespace().next()?.to_owned())
    }
}

impl TestApp {
    /// Every message sent to `to` so far, oldest first, in full.
    pub fn emails_to(&self, to: &str) -> Vec<SentEmail> {
        let mut summaries: Vec<Value> = self
            .sent_emails()
            .into_iter()
            .filter(|m| {
                m["to"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|t| t == to))
            })
            .collect();
        summaries.sort_by(|a, b| a["sentAt"].as_str().cmp(&b["sentAt"].as_str()));
        summaries
            .iter()
            .map(|m| {
                let id = m["messageId"].as_str().expect("messageId");
                let res = self.get(&format!(
                    "/cdn-cgi/local/explorer/api/local/email/sending?email_id={}",
                    percent_encode(id)
                ));
                assert_eq!(res.status, 200, "email explorer: {}", res.body);
                let full = &res.json()["result"];
                SentEmail {
                    to: full["to"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|t| t.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default(),
                    from: full["from"].as_str().unwrap_or_default().to_owned(),
                    subject: full["subject"].as_str().unwrap_or_default().to_owned(),
                    text: full["text"].as_str().unwrap_or_default().to_owned(),
                    html: full["html"].as_str().unwrap_or_default().to_owned(),
                }
            })
            .collect()
    }

    /// Waits (up to 10 s) until `count` messages were sent to `to`, and returns them.
    /// The worker sends after it has answered, so mail can trail the response.
    pub fn wait_for_emails(&self, to: &str, count: usize) -> Vec<SentEmail> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let emails = self.emails_to(to);
            if emails.len() >= count || Instant::now() > deadline {
                assert!(
                    emails.len() >= count,
                    "expected {count} email(s) to {to}, got {}",
                    emails.len()
                );
                return emails;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Drop for TestApp {
    fn drop(&mut self) {
        kill_group(self.process_group());
        let _ = self.child.wait();
    }
}

/// SIGTERM to the whole group, then SIGKILL to whatever is still there after 5 s.
pub fn kill_group(pgid: i32) {
    // SAFETY: plain syscalls on a process group this harness created.
    unsafe { libc::kill(-pgid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(5);
    while group_alive(pgid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
}

/// Whether any process of the group still exists (zombies of our own child aside).
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

/// `wrangler` from the project's node_modules, with its Node 22 first on PATH and
/// everything that would reach the network switched off.
fn wrangler() -> Command {
    let root = project_root();
    let bin = root.join("node_modules/.bin");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new(bin.join("wrangler"));
    cmd.current_dir(&root)
        .env("PATH", path)
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("WRANGLER_SEND_METRICS", "false")
        .env("NO_UPDATE_NOTIFIER", "1");
    cmd
}

fn build_once() {
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

/// A persist directory with every migration applied, made once per test process.
fn migrated_template() -> &'static Path {
    static TEMPLATE: OnceLock<TempDir> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let dir = tempfile::Builder::new()
                .prefix("gatehouse-d1-")
                .tempdir()
                .expect("temp dir");
            let out = wrangler()
                .args(["d1", "migrations", "apply", "DB", "--local", "--persist-to"])
                .arg(dir.path())
                .env("CI", "true") // never prompt
                .stdin(Stdio::null())
                .output()
                .expect("run wrangler d1 migrations apply");
            assert!(
                out.status.success(),
                "migrations failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            dir
        })
        .path()
}

fn copy_dir(from: &Path, to: &Path) {
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

fn free_port() -> u16 {
    // The OS picks a free port; there is a small window before wrangler binds it,
    // which is why every app gets its own and startup failures show the log.
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}
