//! The CLI's HTTP client: one ureq agent, with TLS (rustls + ring, so no system
//! OpenSSL is needed) so that `--url https://…` reaches a deployed worker.
//!
//! By default the built-in Mozilla roots (webpki-roots) decide whom to trust, the same
//! on every machine. `--ca-cert FILE` replaces them with the CA certificates in FILE,
//! as curl's `--cacert` does: for a private CA, a TLS-inspecting proxy, or a local test
//! server with its own certificate.
//!
//! Every HTTP status is an answer (the caller decides what it means); only transport
//! failures are errors, reported as ureq words them (which already names the URL once).

use crate::out::outln;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub struct Client {
    agent: ureq::Agent,
}

impl Client {
    pub fn new(ca_cert: Option<&Path>) -> Result<Client, String> {
        let mut builder = ureq::AgentBuilder::new().timeout(Duration::from_secs(60));
        if let Some(path) = ca_cert {
            builder = builder.tls_config(Arc::new(trusting(path)?));
        }
        Ok(Client {
            agent: builder.build(),
        })
    }

    /// POSTs JSON (with an optional bearer token).
    pub fn post_json(
        &self,
        url: &str,
        bearer: Option<&str>,
        body: &Value,
    ) -> Result<(u16, String), String> {
        answer(with_bearer(self.agent.post(url), bearer).send_json(body))
    }

    /// PUTs JSON with a bearer token.
    pub fn put_json(&self, url: &str, bearer: &str, body: &Value) -> Result<(u16, String), String> {
        answer(with_bearer(self.agent.put(url), Some(bearer)).send_json(body))
    }

    /// POSTs an HTML form's fields (already URL-encoded), as a browser does.
    pub fn post_form(&self, url: &str, form: &str) -> Result<(u16, String), String> {
        let request = self
            .agent
            .post(url)
            .set("content-type", "application/x-www-form-urlencoded");
        answer(request.send_string(form))
    }

    pub fn get(&self, url: &str, bearer: Option<&str>) -> Result<(u16, String), String> {
        answer(with_bearer(self.agent.get(url), bearer).call())
    }
}

fn with_bearer(request: ureq::Request, bearer: Option<&str>) -> ureq::Request {
    match bearer {
        Some(token) => request.set("authorization", &format!("Bearer {token}")),
        None => request,
    }
}

fn answer(result: Result<ureq::Response, ureq::Error>) -> Result<(u16, String), String> {
    let response = match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e.to_string()),
    };
    let status = response.status();
    Ok((status, response.into_string().map_err(|e| e.to_string())?))
}

/// A rustls client configuration trusting exactly the certificates in `path` (PEM).
fn trusting(path: &Path) -> Result<rustls::ClientConfig, String> {
    let shown = path.display();
    let mut roots = rustls::RootCertStore::empty();
    let certs =
        CertificateDer::pem_file_iter(path).map_err(|e| format!("--ca-cert {shown}: {e}"))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("--ca-cert {shown}: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("--ca-cert {shown}: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!(
            "--ca-cert {shown}: no certificate in it (expected PEM, BEGIN CERTIFICATE)"
        ));
    }
    // ring, as ureq's own default configuration uses: one crypto provider in the binary.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Prints an answer the way scripts want it: the body on stdout (so `| jq` works),
/// the HTTP status on stderr. `Err` unless the status is `want`.
pub fn report(what: &str, (status, text): (u16, String), want: u16) -> Result<(), String> {
    eprintln!("HTTP {status}");
    outln!("{text}");
    if status == want {
        Ok(())
    } else {
        Err(format!("{what} refused (HTTP {status})"))
    }
}
