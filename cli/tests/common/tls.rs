//! A TLS front for the test worker on 127.0.0.1, so `--url https://…` is tested against
//! the real worker: the certificate chain is made with the openssl CLI (a throwaway CA
//! and a server certificate for IP 127.0.0.1), the TLS is rustls, and each request is
//! passed to the worker over plain HTTP and its answer back. One request per
//! connection (`connection: close`), which is all the CLI sends.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use tempfile::TempDir;

pub struct TlsFront {
    /// `https://127.0.0.1:PORT`
    pub url: String,
    /// The CA certificate (PEM) that signed the server's certificate.
    pub ca_cert: PathBuf,
    _dir: TempDir,
}

/// Starts a TLS front for `upstream` (`http://127.0.0.1:PORT`); it lives as long as
/// the test process.
pub fn tls_front(upstream: &str) -> TlsFront {
    let dir = tempfile::tempdir().unwrap();
    let (ca_cert, server_cert, server_key) = certificates(dir.path());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&server_cert)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&server_key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    let upstream = upstream.to_owned();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let (config, upstream) = (config.clone(), upstream.clone());
            // A failed handshake (a client that does not trust us) just ends that
            // connection.
            std::thread::spawn(move || serve(config, tcp, &upstream));
        }
    });
    TlsFront {
        url,
        ca_cert,
        _dir: dir,
    }
}

fn serve(config: Arc<rustls::ServerConfig>, tcp: TcpStream, upstream: &str) -> Option<()> {
    let conn = rustls::ServerConnection::new(config).ok()?;
    let mut reader = BufReader::new(rustls::StreamOwned::new(conn, tcp));
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_owned());
        if name == "content-length" {
            length = value.parse().ok()?;
        }
        if matches!(name.as_str(), "content-type" | "authorization" | "accept") {
            headers.push((name, value));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;

    let mut request = ureq::request(&method, &format!("{upstream}{path}"));
    for (name, value) in &headers {
        request = request.set(name, value);
    }
    let response = match request.send_bytes(&body) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(_) => return None,
    };
    let status = response.status();
    let content_type = response.content_type().to_owned();
    let text = response.into_string().ok()?;
    let stream = reader.get_mut();
    write!(
        stream,
        "HTTP/1.1 {status} -\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    )
    .ok()?;
    stream.conn.send_close_notify();
    stream.flush().ok()
}

/// (CA certificate, server certificate, server key), made by openssl in `dir`.
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let path = |name: &str| dir.join(name);
    std::fs::write(
        path("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        dir,
        &[
            &["req", "-x509"],
            &ec[..],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=gatehouse test CA",
            ],
        ],
    );
    openssl(
        dir,
        &[
            &["req"],
            &ec[..],
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ],
    );
    openssl(
        dir,
        &[&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ]],
    );
    (path("ca.pem"), path("server.pem"), path("server.key"))
}

fn openssl(dir: &Path, args: &[&[&str]]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args.concat())
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {:?}: {}",
        args.concat(),
        String::from_utf8_lossy(&out.stderr)
    );
}
