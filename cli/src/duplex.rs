//! `pls duplex POOL`: follow a pool and send to it from one process — a chat between
//! terminals, or a program's JSON in and the pool's messages out.
//!
//! Role: composes the two halves that already exist: the follower of `follow`
//! ([`crate::follow::follow`], with duplex's subset of its flags) on this thread, and a sender
//! on another — terminal lines as `{"from":ME,"msg":LINE}`, or piped input through `feed`'s
//! ingestion ([`crate::feed::stream`]) without receipts.
//!
//! # Invariants
//! - The process ends when either side ends, with that side's exit code: EOF on the input
//!   ends it with 0 (or the sender's error), `--timeout` with 124.
//! - Without `--echo-self`, messages whose `data.from` is `--me` are not printed.
//! - The sender never writes to stdout: the follower owns it.
//!
//! Spec: `spec/CLI.md` §2.10.

use crate::args::{Matches, usage};
use crate::feed;
use crate::follow::{self, Matcher};
use crate::pool;
use crate::ui::Ui;
use plasmite_os::message::encode;
use plasmite_os::{Batcher, CreateOptions, Durability, Error, ErrorKind, Pool, now_ns};
use serde_json::json;
use std::io::BufRead;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};

/// Runs `duplex`.
pub fn run(m: &Matches, ui: &Ui, pool_dir: &Path, argv: &[String]) -> Result<u8, Error> {
    let a = follow::parse(m)?;
    let me = m.value("me").map(str::to_owned);
    if ui.stdin_tty && me.is_none() {
        return Err(
            usage("TTY input requires --me for duplex", Some(m.command)).with_hint(
                "Pass --me NAME: each line you type is sent as {\"from\":NAME,\"msg\":LINE}.",
            ),
        );
    }
    let create = a.create.then(CreateOptions::default);
    let pool = Arc::new(pool::open(
        pool_dir,
        a.pool,
        create,
        (!a.create).then(|| pool::retry_with_create(argv)),
    )?);
    if a.since.is_some_and(|t| t > now_ns()) {
        return Ok(0);
    }
    let matcher = Matcher {
        hide_from: me.clone().filter(|_| !m.has("echo-self")),
        ..Matcher::default()
    };
    // The sender blocks in reads of stdin that nothing can interrupt, so it runs detached:
    // when the follower ends first the process exits without waiting for it.
    let stop = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = mpsc::channel();
    let sender = Sender {
        ui: *ui,
        pool: Arc::clone(&pool),
        name: a.pool.to_owned(),
        me,
    };
    let sender_stop = Arc::clone(&stop);
    std::thread::Builder::new()
        .name("duplex-sender".into())
        .spawn(move || {
            let result = sender.run();
            // The result is sent before the flag is raised, so the follower finds it waiting.
            let _ = done_tx.send(result);
            sender_stop.store(true, Ordering::Release);
        })
        .map_err(|e| {
            Error::new(ErrorKind::Internal, "failed to start the sender thread")
                .with_source(e)
                .with_hint("The system is out of threads or memory; retry.")
        })?;
    let followed = follow::follow(ui, &pool, &a, &matcher, None, Some(&stop));
    if stop.load(Ordering::Acquire) {
        if let Ok(sent) = done_rx.try_recv() {
            return sent;
        }
    }
    followed
}

/// The sending half.
struct Sender {
    ui: Ui,
    pool: Arc<Pool>,
    name: String,
    me: Option<String>,
}

impl Sender {
    fn run(&self) -> Result<u8, Error> {
        match &self.me {
            Some(me) if self.ui.stdin_tty => self.lines(me),
            _ => {
                let args = feed::Args::stream_defaults(&self.name);
                feed::stream(
                    &self.ui,
                    &self.pool,
                    &args,
                    Box::new(std::io::stdin()),
                    feed::stdin_may_wait(),
                    false,
                )
            }
        }
    }

    /// Each non-blank line typed becomes `{"from":ME,"msg":LINE}`; EOF ends with 0.
    fn lines(&self, me: &str) -> Result<u8, Error> {
        let max = self.pool.max_payload_len();
        let mut batcher = Batcher::new(&*self.pool, Durability::Fast).without_receipts();
        let mut stdin = std::io::stdin().lock();
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let n = stdin.read_until(b'\n', &mut buf).map_err(|e| {
                Error::new(ErrorKind::Io, "failed to read the terminal")
                    .with_source(e)
                    .with_hint("Check the terminal; end input with Ctrl-D.")
            })?;
            if n == 0 {
                return Ok(0);
            }
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.trim().is_empty() {
                continue;
            }
            // A line that cannot be sent (too large for the pool) is reported and the chat goes
            // on; a failing pool ends it.
            match encode(&json!({"from": me, "msg": line}), &[], max) {
                Ok(payload) => {
                    batcher.push(payload)?;
                    batcher.flush()?;
                }
                Err(e) => self.ui.error(&e),
            }
        }
    }
}
