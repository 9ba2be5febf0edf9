//! The HTTP client of remote pools: one agent per server (TLS, token), requests, and the
//! mapping of every failure to the error model.
//!
//! Role: everything a remote pool says to its server goes through [`RemoteClient::request`],
//! which adds the token, checks that the answer comes from a plasmite server (the
//! `plasmite-version` header), and turns error answers back into the error they were on the
//! server (kind, message, hint, seq), and transport failures into `Io` errors naming the URL.
//!
//! # Invariants
//! - An answer without `plasmite-version` is an error ("not a plasmite server"), never parsed.
//! - A JSON error body keeps its kind (hence the exit code); an unparseable one maps by status
//!   (400/413 Usage, 401/403 Permission, 404 NotFound, 409 AlreadyExists, 410 RetentionGap,
//!   423 Busy, 5xx Internal, else Io).
//! - Unreachable servers, TLS failures and timeouts are `Io` errors whose hint names the URL
//!   and the likely fix.
//!
//! Spec: `spec/CLI.md` §3.2 (remote pools), `spec/HTTP.md`.

use plasmite_os::{Error, ErrorKind, RemoteRef};
use serde_json::Value;
use std::path::PathBuf;
#[cfg(feature = "tls")]
use std::sync::Arc;
use std::time::Duration;
use ureq::Agent;
use ureq::http::Response;
#[cfg(feature = "tls")]
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

/// How to reach a server: its token and its TLS trust.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Bearer token sent with every request.
    pub token: Option<String>,
    /// A PEM file of the certificates to trust (instead of the public roots).
    pub tls_ca: Option<PathBuf>,
    /// Accept any certificate (development only).
    pub tls_skip_verify: bool,
}

/// What the server says about itself (`GET /healthz`).
#[derive(Clone, Debug, Default)]
pub struct Health {
    /// Extensions offered (`append_jsonl`, `tail_last`, `tail_where`, …); none for the
    /// reference server.
    pub features: Vec<String>,
}

impl Health {
    /// Whether the server offers `feature`.
    pub fn has(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }
}

/// A plasmite server: an HTTP agent, its base URL, the token, and what it offers.
#[derive(Clone, Debug)]
pub struct RemoteClient {
    agent: Agent,
    /// `scheme://host:port` (no trailing slash).
    base: String,
    token: Option<String>,
    tls_ca: bool,
    health: Health,
}

/// A response whose status is a success, from a plasmite server.
pub type Answer = Response<ureq::Body>;

impl RemoteClient {
    /// Connects to the server of `r` (asks `GET /healthz`, which also checks it is a plasmite
    /// server and reachable).
    pub fn connect(r: &RemoteRef, opts: &Options) -> Result<RemoteClient, Error> {
        let base = r.base_url.trim_end_matches('/').to_owned();
        let config = Agent::config_builder();
        #[cfg(feature = "tls")]
        let config = {
            let mut tls = TlsConfig::builder();
            if let Some(path) = &opts.tls_ca {
                tls = tls.root_certs(RootCerts::Specific(Arc::new(read_ca(path)?)));
            }
            if opts.tls_skip_verify {
                tls = tls.disable_verification(true);
            }
            config.tls_config(tls.build())
        };
        #[cfg(not(feature = "tls"))]
        if base.starts_with("https://") || opts.tls_ca.is_some() || opts.tls_skip_verify {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("{base}: this build of pls has no TLS"),
            )
            .with_hint("Use an http:// URL, or a build with the `tls` feature (the default)."));
        }
        let agent: Agent = config
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            // A server that accepted a request answers it at once (tails start streaming at
            // once too); one that does not is stuck or gone.
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .max_redirects(0)
            .user_agent(concat!("plasmite/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let mut client = RemoteClient {
            agent,
            base,
            token: opts.token.clone(),
            tls_ca: opts.tls_ca.is_some(),
            health: Health::default(),
        };
        let mut answer = client.request("GET", "/healthz", None, &[])?;
        let body: Value = read_json(&mut answer, &client.base)?;
        client.health.features = body
            .get("features")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(client)
    }

    /// What the server offers.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The server's base URL, `scheme://host:port`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends `method path` (a path with its query) with an optional body `(content type,
    /// bytes)`; the answer when its status is a success, else the server's error.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, &[u8])>,
        query: &[(&str, String)],
    ) -> Result<Answer, Error> {
        let url = format!("{}{path}", self.base);
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        macro_rules! prepare {
            ($b:expr) => {{
                let mut b = $b;
                if let Some(a) = &auth {
                    b = b.header("authorization", a);
                }
                for (k, v) in query {
                    b = b.query(*k, v);
                }
                b
            }};
        }
        let sent = match (method, body) {
            ("GET", _) => prepare!(self.agent.get(&url)).call(),
            ("DELETE", _) => prepare!(self.agent.delete(&url)).call(),
            (_, Some((ctype, bytes))) => prepare!(self.agent.post(&url))
                .header("content-type", ctype)
                .send(bytes),
            (_, None) => prepare!(self.agent.post(&url)).send_empty(),
        };
        let mut answer = sent.map_err(|e| self.transport(&url, e))?;
        if !answer.headers().contains_key("plasmite-version") {
            return Err(Error::new(
                ErrorKind::Io,
                format!("{} is not a plasmite server", self.base),
            )
            .with_hint(format!(
                "The answer to {url} lacks the plasmite-version header; check the host and port \
                 (pls serve listens on 9700 by default)."
            )));
        }
        let status = answer.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(answer);
        }
        let body = answer
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .unwrap_or_default();
        Err(self.server_error(status, &body))
    }

    /// An error answer (status `status`, body `body`) as the error it was on the server.
    pub fn server_error(&self, status: u16, body: &[u8]) -> Error {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let e = parsed
            .as_ref()
            .and_then(|v| v.get("error"))
            .and_then(error_from_json);
        let e = e.unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            let kind = match status {
                400 | 413 | 415 | 422 => ErrorKind::Usage,
                401 | 403 => ErrorKind::Permission,
                404 => ErrorKind::NotFound,
                409 => ErrorKind::AlreadyExists,
                410 => ErrorKind::RetentionGap,
                423 => ErrorKind::Busy,
                500..=599 => ErrorKind::Internal,
                _ => ErrorKind::Io,
            };
            let msg = if text.is_empty() {
                format!("the server answered {status}")
            } else {
                text.chars().take(200).collect()
            };
            Error::new(kind, msg)
        });
        self.with_remote_hint(e, status)
    }

    /// Adds what to do on this side to errors whose server hint does not fit a client.
    fn with_remote_hint(&self, e: Error, status: u16) -> Error {
        match (e.kind(), status) {
            (ErrorKind::Permission, 401) => {
                let hint = if self.token.is_some() {
                    format!(
                        "The token was refused by {}; check --token or --token-file.",
                        self.base
                    )
                } else {
                    format!(
                        "{} needs a bearer token: pass --token-file PATH (or --token).",
                        self.base
                    )
                };
                e.with_hint(hint)
            }
            (ErrorKind::Permission, _) if e.message().starts_with("forbidden") => {
                let hint = format!(
                    "{} does not allow this (its --access mode); use a server that does.",
                    self.base
                );
                e.with_hint(hint)
            }
            _ => e,
        }
    }

    /// A failure to exchange with the server at all, as an `Io` error naming the URL.
    fn transport(&self, url: &str, e: ureq::Error) -> Error {
        // rustls reports certificate and handshake failures through the I/O error.
        let tls_io = matches!(&e, ureq::Error::Io(io)
            if io.kind() == std::io::ErrorKind::InvalidData
                || io.to_string().contains("certificate"));
        let (message, hint) = match &e {
            _ if tls_io => (
                format!("TLS with {} failed: {e}", self.base),
                self.tls_hint(),
            ),
            ureq::Error::Timeout(_) => (
                format!("request to {url} timed out"),
                format!("Check that {} is up and reachable, then retry.", self.base),
            ),
            ureq::Error::HostNotFound => (
                format!("host of {url} not found"),
                "Check the host name in the pool URL.".to_owned(),
            ),
            ureq::Error::ConnectionFailed | ureq::Error::Io(_) => (
                format!("cannot reach {}", self.base),
                format!(
                    "Check that the server is running (pls serve) and listening at {}, and \
                     that http/https matches it.",
                    self.base
                ),
            ),
            #[cfg(feature = "tls")]
            ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => (
                format!("TLS with {} failed: {e}", self.base),
                self.tls_hint(),
            ),
            _ => (
                format!("request to {url} failed: {e}"),
                format!(
                    "Check the pool URL and that {} is a plasmite server.",
                    self.base
                ),
            ),
        };
        Error::new(ErrorKind::Io, message)
            .with_hint(hint)
            .with_source(e)
    }
}

impl RemoteClient {
    fn tls_hint(&self) -> String {
        if self.tls_ca {
            "Check that --tls-ca holds the certificate the server serves (or the CA that signed \
             it), and that the URL's host is one the certificate names."
                .to_owned()
        } else {
            "The server's certificate is not trusted: pass --tls-ca with its certificate (pls \
             serve init writes one), or --tls-skip-verify for a test server."
                .to_owned()
        }
    }
}

/// Reads a JSON answer (at most 64 MiB).
pub fn read_json(answer: &mut Answer, base: &str) -> Result<Value, Error> {
    let bytes = answer
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("failed to read the answer of {base}: {e}"),
            )
            .with_hint("The connection broke; retry.")
        })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::new(ErrorKind::Io, format!("{base} answered invalid JSON: {e}"))
            .with_hint("Check that the URL names a plasmite server.")
    })
}

/// `{"kind", "message", "hint"?, "seq"?, "path"?, "offset"?}` as an error.
pub fn error_from_json(e: &Value) -> Option<Error> {
    let kind = kind_named(e.get("kind")?.as_str()?)?;
    let message = e.get("message").and_then(Value::as_str).unwrap_or("error");
    let mut err = Error::new(kind, message);
    if let Some(h) = e.get("hint").and_then(Value::as_str) {
        err = err.with_hint(h);
    }
    if let Some(s) = e.get("seq").and_then(Value::as_u64) {
        err = err.with_seq(s);
    }
    if let Some(o) = e.get("offset").and_then(Value::as_u64) {
        err = err.with_offset(o);
    }
    if let Some(p) = e.get("path").and_then(Value::as_str) {
        err = err.with_path(p);
    }
    Some(err)
}

/// The kind of a stable kind name.
fn kind_named(name: &str) -> Option<ErrorKind> {
    (1..=9)
        .filter_map(ErrorKind::from_code)
        .find(|k| k.as_str() == name)
}

/// The certificates of a PEM file, for `--tls-ca`.
#[cfg(feature = "tls")]
fn read_ca(path: &PathBuf) -> Result<Vec<Certificate<'static>>, Error> {
    let pem = std::fs::read(path).map_err(|e| {
        Error::io(e, "failed to read --tls-ca", path)
            .with_hint("Pass the PEM file of the server's certificate or of its CA.")
    })?;
    let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("--tls-ca {} holds no PEM certificate", path.display()),
        )
        .with_hint("Pass a PEM file with -----BEGIN CERTIFICATE----- blocks."));
    }
    Ok(certs)
}
