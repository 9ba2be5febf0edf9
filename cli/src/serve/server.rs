//! The listener: binds, accepts connections within a cap, terminates TLS, serves HTTP/1.1 and
//! h2 (ALPN over TLS, prior knowledge on plain sockets) and stops gracefully.
//!
//! # Invariants
//! - At most [`connections_max`] connections are served at once; one more is closed at once.
//!   A client that does not finish its TLS handshake within [`HANDSHAKE_TIMEOUT`] or its
//!   request headers within [`HEADER_TIMEOUT`] is disconnected.
//! - On SIGINT or SIGTERM the server stops accepting, ends every open tail at once (their
//!   responses end cleanly), lets requests in progress finish for up to [`DRAIN`], and exits 0.
//! - `PLASMITE_SERVE_READY_FILE` receives the bound `ip:port` only once the socket listens,
//!   written whole (temporary file, then rename).
//!
//! Spec: `spec/HTTP.md` §2.

use super::config::Config;
use super::state::State;
use super::{log, router, tls};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use plasmite_os::{Error, ErrorKind, Sandbox};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Longest TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for requests in progress at shutdown.
pub const DRAIN: Duration = Duration::from_secs(10);
/// The environment variable naming the ready file.
pub const READY_FILE_ENV: &str = "PLASMITE_SERVE_READY_FILE";

/// Connections served at once: room for every tail plus ordinary clients.
pub fn connections_max(config: &Config) -> usize {
    config
        .max_concurrency
        .saturating_mul(2)
        .saturating_add(1024)
}

/// What the caller shows once the server listens.
pub type OnReady<'a> = Box<dyn FnOnce(SocketAddr, Option<&str>) + 'a>;

/// Runs the server until SIGINT or SIGTERM; the exit code.
pub fn run(config: Config, sandbox: Sandbox, on_ready: OnReady<'_>) -> Result<u8, Error> {
    let loaded = tls::load(&config.tls, config.bind.ip())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("pls-serve")
        .max_blocking_threads(config.max_concurrency.saturating_mul(2).saturating_add(16))
        .build()
        .map_err(|e| {
            Error::new(ErrorKind::Internal, "failed to start the server's runtime")
                .with_hint("The system is short of threads or memory.")
                .with_source(e)
        })?;
    runtime.block_on(serve(config, sandbox, loaded, on_ready))
}

async fn serve(
    config: Config,
    sandbox: Sandbox,
    loaded: Option<tls::Loaded>,
    on_ready: OnReady<'_>,
) -> Result<u8, Error> {
    let listener = TcpListener::bind(config.bind).await.map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
            "Another program listens there: stop it, or choose another --bind port (0: any)."
        } else {
            "Check the --bind address: it must be one of this machine's."
        };
        Error::new(
            ErrorKind::Io,
            format!("failed to bind {}: {e}", config.bind),
        )
        .with_hint(hint)
        .with_source(e)
    })?;
    let bound = listener.local_addr().map_err(|e| {
        Error::new(ErrorKind::Io, "failed to read the bound address").with_source(e)
    })?;
    if let Some(path) = std::env::var_os(READY_FILE_ENV) {
        write_ready_file(Path::new(&path), bound)?;
    }
    let acceptor = loaded
        .as_ref()
        .map(|l| tokio_rustls::TlsAcceptor::from(Arc::clone(&l.config)));
    on_ready(bound, loaded.as_ref().map(|l| l.fingerprint.as_str()));
    log::info(&format!(
        "listening on {} ({}, access {})",
        config.base_url(bound),
        config.tls_label(),
        config.access.as_str()
    ));
    let connections = Arc::new(Semaphore::new(connections_max(&config)));
    let state = Arc::new(State::new(config, sandbox));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(256)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    let graceful = GracefulShutdown::new();
    let mut interrupt = signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut terminate = signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        let (tcp, peer) = tokio::select! {
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors, or a connection reset before it was accepted: go
                    // on after a breath rather than spin.
                    log::warn(&format!("accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            log::warn(&format!(
                "connection from {peer} refused: too many connections"
            ));
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let st = Arc::clone(&state);
        let svc = service_fn(move |req| {
            let st = Arc::clone(&st);
            async move {
                if log::debug_enabled() {
                    log::debug(&format!("{peer} {} {}", req.method(), req.uri().path()));
                }
                Ok::<_, Infallible>(router::handle(req, st).await)
            }
        });
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let served = match acceptor {
                None => {
                    let conn = builder
                        .serve_connection(TokioIo::new(tcp), svc)
                        .into_owned();
                    watcher.watch(conn).await
                }
                Some(acceptor) => {
                    let tls =
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                            Ok(Ok(s)) => s,
                            Ok(Err(e)) => {
                                log::debug(&format!("TLS handshake with {peer} failed: {e}"));
                                return;
                            }
                            Err(_) => {
                                log::debug(&format!("TLS handshake with {peer} timed out"));
                                return;
                            }
                        };
                    let conn = builder
                        .serve_connection(TokioIo::new(tls), svc)
                        .into_owned();
                    watcher.watch(conn).await
                }
            };
            if let Err(e) = served {
                log::debug(&format!("connection with {peer} ended: {e}"));
            }
            drop(permit);
        });
    }
    log::info("stopping: ending open tails");
    drop(listener);
    state.shutdown.raise();
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        log::warn("requests still running after the drain period were cut");
    }
    log::info("stopped");
    Ok(0)
}

fn signal(kind: tokio::signal::unix::SignalKind) -> Result<tokio::signal::unix::Signal, Error> {
    tokio::signal::unix::signal(kind).map_err(|e| {
        Error::new(ErrorKind::Internal, "failed to install a signal handler").with_source(e)
    })
}

/// Writes `bound` to `path` whole: a temporary file beside it, then a rename.
pub fn write_ready_file(path: &Path, bound: SocketAddr) -> Result<(), Error> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, bound.to_string())
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            Error::io(e, "failed to write the ready file", path)
                .with_hint("Point PLASMITE_SERVE_READY_FILE at a writable location.")
        })
}
