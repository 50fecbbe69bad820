//! Reads the typed [`Config`] from the worker environment once per isolate.

use gatehouse_core::config::{Config, ConfigError};
use gatehouse_core::http::problem::Problem;
use std::cell::OnceCell;
use std::rc::Rc;
use worker::Env;

thread_local! {
    // Vars and secrets are fixed for the life of an isolate, so parse them once.
    // Errors are not cached: a secret added later is picked up on the next request.
    // Shared, not cloned: a request asks for it more than once (CORS, limits, route).
    static CONFIG: OnceCell<Rc<Config>> = const { OnceCell::new() };
}

pub fn load(env: &Env) -> Result<Rc<Config>, ConfigError> {
    if let Some(config) = CONFIG.with(|c| c.get().cloned()) {
        return Ok(config);
    }
    let config = Rc::new(Config::from_lookup(|name| {
        // `Env::var` and `Env::secret` read the same object; a secret set with
        // `wrangler secret put` or in .dev.vars looks the same as a var here.
        env.secret(name).ok().map(|v| v.to_string())
    })?);
    CONFIG.with(|c| {
        let _ = c.set(config.clone());
    });
    Ok(config)
}

/// [`load`] for routes: a bad config is logged (by name, never value) and becomes the
/// route family's 500.
pub fn require(env: &Env) -> Result<Rc<Config>, Problem> {
    load(env).map_err(|e| {
        worker::console_error!("{e}");
        Problem::Misconfigured
    })
}
