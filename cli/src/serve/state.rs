//! What every request shares: the configuration, the open pools, the admission limits, the
//! sandbox for `where` expressions and the shutdown signal.
//!
//! # Invariants
//! - One open [`Pool`] (one `Arc`) per pool file at a time, so every tail of a pool waits
//!   through the same wake hub: one parked thread per pool, whatever the number of tails.
//! - A cached pool is used only while its name still names the same file (device and inode);
//!   a pool deleted or replaced behind the server's back is opened afresh or reported missing.
//! - Admission never queues: a request beyond a limit is refused at once (423), so a flood
//!   cannot build an unbounded backlog of blocked work.
//!
//! Spec: `spec/HTTP.md` §5 (limits).

use super::appender::Appenders;
use super::config::Config;
use super::feed::Feeds;
use plasmite_os::{Error, ErrorKind, Pool, PoolName, Sandbox};
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// The state shared by every connection.
#[derive(Debug)]
pub struct State {
    /// The configuration.
    pub config: Config,
    /// Open pools.
    pub pools: Arc<Pools>,
    /// Group commit of single appends.
    pub appenders: Appenders,
    /// Tails and MCP waits running.
    tails: Arc<Semaphore>,
    /// Storage operations running on blocking threads.
    storage: Arc<Semaphore>,
    /// Where `where` expressions run.
    pub sandbox: Arc<Sandbox>,
    /// Raised once the server is stopping.
    pub shutdown: Shutdown,
    /// The shared chunks of unfiltered tails.
    pub feeds: Feeds,
}

impl State {
    /// The state for `config`.
    pub fn new(config: Config, sandbox: Sandbox) -> State {
        let n = config.max_concurrency;
        State {
            pools: Arc::new(Pools::new(config.dir.clone())),
            appenders: Appenders::default(),
            tails: Arc::new(Semaphore::new(n.min(Semaphore::MAX_PERMITS))),
            storage: Arc::new(Semaphore::new(n.min(Semaphore::MAX_PERMITS))),
            sandbox: Arc::new(sandbox),
            shutdown: Shutdown::default(),
            feeds: Feeds::default(),
            config,
        }
    }

    /// A place among the running tails and MCP waits; Busy when all are taken.
    pub fn tail_permit(&self) -> Result<OwnedSemaphorePermit, Error> {
        Arc::clone(&self.tails).try_acquire_owned().map_err(|_| {
            Error::new(ErrorKind::Busy, "too many concurrent tail requests").with_hint(
                "Retry later, close idle tails, or raise the server's --max-tail-concurrency.",
            )
        })
    }

    /// A place among the running storage operations; Busy when all are taken.
    pub fn storage_permit(&self) -> Result<OwnedSemaphorePermit, Error> {
        Arc::clone(&self.storage).try_acquire_owned().map_err(|_| {
            Error::new(ErrorKind::Busy, "server storage executor is saturated").with_hint(
                "Retry later with backoff, or raise the server's --max-tail-concurrency.",
            )
        })
    }

    /// Runs `work` (which may block: file I/O, locks, the sandbox) on a blocking thread, if a
    /// place among the running storage operations is free; Busy when none is.
    pub async fn storage<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let permit = self.storage_permit()?;
        blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
    }
}

/// Runs `work` on a blocking thread.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    match tokio::task::spawn_blocking(work).await {
        Ok(out) => out,
        Err(e) => Err(Error::new(ErrorKind::Internal, "a storage task failed")
            .with_hint("Retry; report it if it persists.")
            .with_source(e)),
    }
}

/// The pools opened so far, by name.
#[derive(Debug)]
pub struct Pools {
    dir: std::path::PathBuf,
    open: Mutex<HashMap<String, Open>>,
}

#[derive(Debug)]
struct Open {
    pool: Arc<Pool>,
    dev: u64,
    ino: u64,
}

impl Pools {
    fn new(dir: std::path::PathBuf) -> Pools {
        Pools {
            dir,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// The pool directory.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// The open pool `name` (blocking: it may open the file).
    pub fn get(&self, name: &PoolName) -> Result<Arc<Pool>, Error> {
        let path = name.path_in(&self.dir);
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                self.forget(name);
                return Err(not_found_or_io(e, &path, name));
            }
        };
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(o) = open.get(name.as_str())
            && o.dev == meta.dev()
            && o.ino == meta.ino()
        {
            return Ok(Arc::clone(&o.pool));
        }
        drop(open);
        let pool = Arc::new(Pool::open(&path)?);
        open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.insert(
            name.as_str().to_owned(),
            Open {
                pool: Arc::clone(&pool),
                dev: meta.dev(),
                ino: meta.ino(),
            },
        );
        Ok(pool)
    }

    /// Forgets `name` (it was deleted).
    pub fn forget(&self, name: &PoolName) {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name.as_str());
    }
}

fn not_found_or_io(e: std::io::Error, path: &std::path::Path, name: &PoolName) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::new(
            ErrorKind::NotFound,
            format!("pool '{}' not found", name.as_str()),
        )
        .with_path(path)
        .with_hint("Create it first (POST /v0/pools), or check the name with GET /v0/pools.")
    } else {
        Error::io(e, "failed to open pool", path)
    }
}

/// The server's stop signal: raised once, awaited by every open tail and connection.
#[derive(Debug, Default)]
pub struct Shutdown {
    raised: AtomicBool,
    notify: Notify,
}

impl Shutdown {
    /// Raises it (idempotent).
    pub fn raise(&self) {
        self.raised.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether it was raised.
    pub fn raised(&self) -> bool {
        self.raised.load(Ordering::SeqCst)
    }

    /// Resolves once it is raised.
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.raised() {
                return;
            }
            notified.await;
        }
    }
}
