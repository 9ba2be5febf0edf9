//! Pools mirrored into NATS JetStream and back: `bridge out` publishes a pool's messages to a
//! stream, `bridge in` appends a stream's messages to a pool.
//!
//! Role: the bridge engine of the command line (`cmd::bridge` parses flags and prints). This
//! module holds what both directions share: the connection (credentials, TLS, reconnect
//! policy), the header names of the mapping, subject tokens, and the mapping of NATS errors
//! onto the engine's [`Error`] (a kind plus a hint that names no flag).
//!
//! # Invariants
//! - Every message a bridge publishes carries `Nats-Msg-Id: <source>:<seq>`, so a publish
//!   repeated after a crash or a reconnect is stored once (within the stream's duplicate
//!   window).
//! - A message that came into a pool through `bridge in` carries the [`BRIDGED_TAG`] tag there,
//!   and `bridge out` never publishes a message with that tag: a two-way pair cannot loop.
//! - Subject tokens built from pool names and tags contain only `[A-Za-z0-9_-]`; the exact
//!   values travel in headers.
//! - Only the server's refusal of a login is a Permission error; a malformed NKey seed or creds
//!   file is a Usage error found before connecting.
//!
//! Spec: `spec/BRIDGE.md`.

pub mod inbound;
pub mod out;

use async_nats::ConnectOptions;
use plasmite_os::{Error, ErrorKind};
use std::path::PathBuf;
use std::time::Duration;

/// The tag `bridge in` adds to every message it appends, and that `bridge out` skips.
pub const BRIDGED_TAG: &str = "@bridged";

/// Header: the publishing pool's source name (the first part of `Nats-Msg-Id`).
pub const H_SOURCE: &str = "Plasmite-Source";
/// Header: the message's sequence in its pool.
pub const H_SEQ: &str = "Plasmite-Seq";
/// Header: the message's append time in its pool, RFC 3339 with nanoseconds.
pub const H_TIME: &str = "Plasmite-Time";
/// Header: the message's tags as a JSON array of strings (absent when it has none).
pub const H_TAGS: &str = "Plasmite-Tags";
/// JetStream's de-duplication header.
pub const H_MSG_ID: &str = "Nats-Msg-Id";

/// How to reach and authenticate to a NATS server.
#[derive(Clone, Debug, Default)]
pub struct Connect {
    /// `nats://host:port` (or `tls://`; several separated by commas).
    pub url: String,
    /// A bearer token.
    pub token: Option<String>,
    /// User and password.
    pub user: Option<(String, String)>,
    /// An NKey seed (`SU…`).
    pub nkey_seed: Option<String>,
    /// A creds file (JWT and NKey seed).
    pub creds_file: Option<PathBuf>,
    /// A PEM file of CA certificates the server's certificate must chain to (TLS required).
    pub tls_ca: Option<PathBuf>,
    /// A client certificate and its key (PEM), for servers that verify clients.
    pub tls_client: Option<(PathBuf, PathBuf)>,
}

/// Whether the client reconnects by itself after losing the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reconnect {
    /// Reconnect and resend what is queued (the consumer side: appends are idempotent).
    Auto,
    /// Never: the caller starts a new connection after re-reading the stream (the publisher
    /// side: a message queued before a disconnect must not be sent after one that was lost).
    Never,
}

impl Connect {
    /// Connects; connection failures are Io errors (Permission for refused credentials).
    pub async fn connect(&self, reconnect: Reconnect) -> Result<async_nats::Client, Error> {
        let mut o = ConnectOptions::new()
            .name("plasmite bridge")
            .connection_timeout(Duration::from_secs(5))
            .ping_interval(Duration::from_secs(10))
            // Subjects are built from checked tokens (or given as filters the server checks).
            .skip_subject_validation(true);
        if let Some(t) = &self.token {
            o = o.token(t.clone());
        }
        if let Some((u, p)) = &self.user {
            o = o.user_and_password(u.clone(), p.clone());
        }
        if let Some(seed) = &self.nkey_seed {
            // The client would report a malformed seed as refused credentials, at connect.
            nkeys::KeyPair::from_seed(seed).map_err(|e| {
                Error::new(ErrorKind::Usage, format!("invalid NKey seed: {e}")).with_hint(
                    "An NKey seed is the key's secret half: 58 characters of base32 starting \
                     with S (SU… for a user), not its public key.",
                )
            })?;
            o = o.nkey(seed.clone());
        }
        if let Some(path) = &self.creds_file {
            // Read here rather than by the client, which would turn a missing file into a bare
            // I/O error: NotFound and Permission keep their kinds, and a file that is not a
            // creds file is a Usage error naming it.
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::io(e, "failed to read the NATS credentials file", path)
                    .with_hint("Check the creds file's path and permissions.")
            })?;
            o = o.credentials(&text).map_err(|e| {
                Error::new(
                    ErrorKind::Usage,
                    format!("invalid NATS credentials file: {e}"),
                )
                .with_path(path)
                .with_hint(
                    "A creds file holds a user JWT and that user's NKey seed, each between \
                     -----BEGIN and ------END lines, as NATS account tools write it.",
                )
            })?;
        }
        if let Some(ca) = &self.tls_ca {
            o = o.add_root_certificates(ca.clone()).require_tls(true);
        }
        if let Some((cert, key)) = &self.tls_client {
            o = o.add_client_certificate(cert.clone(), key.clone());
        }
        if reconnect == Reconnect::Never {
            // The first connection is attempt 1 and is not delayed; a reconnection would be
            // attempt 1 again (the count restarts on success), so the delay cannot tell them
            // apart: a flag does. After connecting, reconnecting waits "forever" — the caller
            // sees the disconnect and drops the client before then.
            let connected = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let seen = connected.clone();
            o = o.reconnect_delay_callback(move |_| {
                if seen.load(std::sync::atomic::Ordering::Relaxed) {
                    Duration::from_secs(24 * 3600)
                } else {
                    Duration::ZERO
                }
            });
            let client = o
                .connect(self.url.as_str())
                .await
                .map_err(|e| connect_error(&self.url, e))?;
            connected.store(true, std::sync::atomic::Ordering::Relaxed);
            return Ok(client);
        }
        o.connect(self.url.as_str())
            .await
            .map_err(|e| connect_error(&self.url, e))
    }
}

fn connect_error(url: &str, e: async_nats::ConnectError) -> Error {
    use async_nats::ConnectErrorKind as K;
    let (kind, hint) = match e.kind() {
        K::Authentication | K::AuthorizationViolation => (
            ErrorKind::Permission,
            "The server refused the credentials: check the token, user and password, NKey or creds file.",
        ),
        K::Tls => (
            ErrorKind::Io,
            "The TLS handshake failed: check the CA file and that the server speaks TLS.",
        ),
        K::ServerParse => (
            ErrorKind::Usage,
            "Check the server address: nats://HOST:PORT or tls://HOST:PORT.",
        ),
        _ => (
            ErrorKind::Io,
            "Check that the NATS server is running and reachable at that address.",
        ),
    };
    Error::new(kind, format!("failed to connect to NATS at {url}: {e}"))
        .with_hint(hint)
        .with_source(e)
}

/// An error of a JetStream request, as an engine error of `kind` (with a generic hint the
/// caller may replace).
fn nats_error(kind: ErrorKind, what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(kind, format!("{what}: {e}")).with_hint(
        "Check that the NATS server is reachable and runs with JetStream enabled, then retry.",
    )
}

/// `s` as one subject token: every character outside `[A-Za-z0-9_-]` becomes `_`; empty
/// becomes `_`.
pub fn token(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if t.is_empty() { "_".to_owned() } else { t }
}

/// Whether `s` is usable as it is as one subject token (a source name, a consumer name).
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && token(s) == s
}

/// Whether `s` is a valid subject prefix: tokens separated by dots, no wildcards, no spaces.
pub fn is_prefix(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|t| {
            !t.is_empty() && !t.contains(['*', '>']) && !t.chars().any(char::is_whitespace)
        })
}

/// A single-threaded tokio runtime for one bridge session: the connection's task and the
/// bridge's share the thread, so handing a publish (or a received message) from one to the
/// other costs no wake-up of another thread; the pool is read (out) on a thread of its own.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Error::new(ErrorKind::Internal, "failed to start the bridge's runtime")
                .with_source(e)
                .with_hint("The system is out of threads or memory; retry.")
        })
}

/// What a bridge reports while it runs (the front end prints it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// Started, or resumed after a reconnection, at pool sequence `next` (out) or after
    /// stream sequence `after` (in).
    Resumed {
        /// Out: the next pool sequence to publish. In: the last stream sequence appended.
        at: u64,
        /// Whether this is a reconnection rather than the start.
        reconnect: bool,
    },
    /// Messages `first..first+count` of the pool were overwritten before they were published
    /// (only when gaps are allowed).
    Skipped {
        /// First pool sequence not published.
        first: u64,
        /// How many.
        count: u64,
    },
    /// A message's payload is damaged in the pool: it is not published.
    Damaged {
        /// Its pool sequence.
        seq: u64,
    },
    /// The connection was lost or a publish failed; the bridge reconnects.
    Disconnected {
        /// Why.
        reason: String,
    },
    /// A stream message could not become a pool message and was skipped (in).
    Refused {
        /// Its stream sequence.
        stream_seq: u64,
        /// Why.
        reason: String,
    },
    /// The stream was created.
    StreamCreated {
        /// Its name.
        name: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_only_subject_safe_characters() {
        assert_eq!(token("events"), "events");
        assert_eq!(token("a.b c*>"), "a_b_c__");
        assert_eq!(token(""), "_");
        assert_eq!(token("été"), "_t_");
        assert!(is_token("web1-events_2"));
        assert!(!is_token("a.b"));
    }

    #[test]
    fn prefixes_are_dotted_tokens_without_wildcards() {
        assert!(is_prefix("pls"));
        assert!(is_prefix("org.pls"));
        assert!(!is_prefix("pls."));
        assert!(!is_prefix("pls.*"));
        assert!(!is_prefix(""));
        assert!(!is_prefix("a b"));
    }
}
