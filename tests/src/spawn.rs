//! Booting a worker for a test: from the project's wrangler.toml, from a copy of it
//! (one binding left out, one rate limit lowered), from another worker's config, or
//! over a restored backup's state (backup.rs); and starting it again (a restart with
//! other `[vars]`, or after losing a race for a free port).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use crate::launch::{config_with_limit, config_without_binding, inspector_off, start_wrangler};
use crate::setup::{build_once, copy_dir, kill_group, project_root};
use crate::template::migrated_template;
use crate::{abort_cleanup, d1_file, timing, traffic, TestApp};

/// Boots the worker with the test defaults: test hooks on and a fast password KDF.
pub fn spawn_app() -> TestApp {
    spawn_app_with(&[])
}

/// Like [`spawn_app`], with extra `[vars]` overrides (`--var NAME:VALUE`).
pub fn spawn_app_with(vars: &[(&str, &str)]) -> TestApp {
    boot(vars, |_| None)
}

/// Boots the worker, with `vars`, from a copy of wrangler.toml without the binding
/// table that declares `binding` (e.g. `[[kv_namespaces]]` for `NONCES`): that
/// dependency is down for the whole run, every call to it fails.
pub fn spawn_app_without_binding(binding: &str, vars: &[(&str, &str)]) -> TestApp {
    boot_from_copy(vars, |text| {
        config_without_binding(text, binding, &project_root())
    })
}

/// Boots the worker, with `vars`, from a copy of wrangler.toml whose rate limiter
/// `name` allows `limit` a minute: for a budget too large for this machine to spend
/// within one of the limiter's windows.
pub fn spawn_app_with_limit(vars: &[(&str, &str)], name: &str, limit: u32) -> TestApp {
    boot_from_copy(vars, |text| {
        config_with_limit(text, name, limit, &project_root())
    })
}

/// [`boot`] from the config `edit` makes of the project's wrangler.toml.
fn boot_from_copy(vars: &[(&str, &str)], edit: impl FnOnce(&str) -> String) -> TestApp {
    boot(vars, |state| {
        let config = state.join("wrangler.toml");
        let text = fs::read_to_string(project_root().join("wrangler.toml")).expect("wrangler.toml");
        fs::write(&config, edit(&text)).expect("write config");
        // wrangler reads local secrets next to the config it is given.
        fs::copy(project_root().join(".dev.vars"), state.join(".dev.vars"))
            .expect("copy .dev.vars");
        Some(config)
    })
}

/// Boots another worker (e.g. the benchmark's plain-JS comparison worker) from its own
/// wrangler config, over the same migrated D1 and fresh KV.
pub fn spawn_worker(config: &Path) -> TestApp {
    spawn_worker_with(config, &[])
}

/// Like [`spawn_worker`], with extra `[vars]` overrides (`--var NAME:VALUE`).
pub fn spawn_worker_with(config: &Path, vars: &[(&str, &str)]) -> TestApp {
    let config = config.to_path_buf();
    boot(vars, move |_| Some(config))
}

fn boot(vars: &[(&str, &str)], config: impl FnOnce(&Path) -> Option<PathBuf>) -> TestApp {
    boot_over(
        vars,
        |persist| copy_dir(migrated_template(), persist),
        config,
    )
}

/// [`boot`] over D1/KV state that `prepare` puts into the (empty) persist directory
/// it is given: the migrated template, or a restored backup (backup.rs).
pub(crate) fn boot_over(
    vars: &[(&str, &str)],
    prepare: impl FnOnce(&Path),
    config: impl FnOnce(&Path) -> Option<PathBuf>,
) -> TestApp {
    timing::start();
    build_once();
    let state = tempfile::Builder::new()
        .prefix("gatehouse-e2e-")
        .tempdir()
        .expect("temp dir");
    prepare(&state.path().join("persist"));
    // Opened before the worker starts, so it is the file's first connection and every
    // other finds it open (d1_file says why).
    let open_file = Mutex::new(Some(d1_file::hold_open(&state.path().join("persist"))));
    let config = config(state.path());
    let started = start_wrangler(state.path(), config.as_deref(), vars, inspector_off());
    let mut app = TestApp {
        base_url: started.base_url(),
        inspector_port: started.inspector_port,
        agent: ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(60))
            .build(),
        child: started.child,
        log_from: started.log_from,
        open_file,
        state,
        config,
        d1: Mutex::new(()),
        traffic: traffic::Traffic::default(),
    };
    app.start_until_ready(vars);
    app
}

impl TestApp {
    /// Stops the worker and starts it again over the same D1/KV state with other
    /// `[vars]`: a configuration change (or a fault fixed) between two requests.
    pub fn restart_with(&mut self, vars: &[(&str, &str)]) {
        kill_group(self.process_group());
        self.start(vars);
        self.start_until_ready(vars);
    }

    /// Starts wrangler again over this app's state (the old one stopped or exited).
    fn start(&mut self, vars: &[(&str, &str)]) {
        abort_cleanup::stopped(self.process_group());
        let started = start_wrangler(
            self.state.path(),
            self.config.as_deref(),
            vars,
            self.inspector_port.is_none(),
        );
        self.base_url = started.base_url();
        self.inspector_port = started.inspector_port;
        self.child = started.child;
        self.log_from = started.log_from;
    }

    /// Waits for the started wrangler; if it lost a port race (a free port taken by a
    /// parallel test before wrangler bound it), starts it again on new ports.
    fn start_until_ready(&mut self, vars: &[(&str, &str)]) {
        for _ in 0..3 {
            if self.wait_until_ready() {
                return;
            }
            self.start(vars);
        }
        panic!(
            "wrangler dev lost the port race three times:\n{}",
            self.log()
        );
    }
}
