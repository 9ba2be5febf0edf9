//! `pls duplex POOL`: follow a pool and send to it from one process — a chat between
//! terminals, or a program's JSON in and the pool's messages out.
//!
//! Role: composes the two halves that already exist: the follower of `follow`
//! ([`crate::cmd::follow::follow`], with duplex's subset of its flags) on this thread, and a sender
//! on another — terminal lines as `{"from":ME,"msg":LINE}`, or piped input through `feed`'s
//! ingestion ([`crate::cmd::feed::stream`]) without receipts.
//!
//! # Invariants
//! - The process ends when either side ends, with that side's exit code: EOF on the input
//!   ends it with 0 (or the sender's error), `--timeout` with 124.
//! - Without `--echo-self`, no message this process sent is printed, whatever the timing
//!   between the two sides ([`Sent`]), nor any whose `data.from` is `--me`.
//! - The sender never writes to stdout: the follower owns it.
//!
//! Spec: `spec/CLI.md` §2.10.

use crate::args::{Matches, usage};
use crate::cmd::feed;
use crate::cmd::follow::{self, Matcher};
use crate::cmd::pool;
use crate::ui::Ui;
use plasmite_os::append::Sink;
use plasmite_os::core::lite3::envelope;
use plasmite_os::core::lite3::read::ValueRef;
use plasmite_os::message::encode;
use plasmite_os::{
    Appended, Batcher, Cancel, CreateOptions, Durability, Error, ErrorKind, MessageView, Pool,
    Predicate, now_ns,
};
use serde_json::json;
use std::io::BufRead;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};

/// The sequences this process's sender appended. The sender holds the lock from before each
/// append until its sequences are recorded, so a follower that saw one of them and then asks
/// always finds it: hiding one's own messages does not depend on which side ran first (piped
/// records carry no `from`, so the sequence is the only way to know them).
#[derive(Debug, Default)]
pub struct Sent(Mutex<SentSeqs>);

/// Ascending, disjoint inclusive ranges of sequences.
#[derive(Debug, Default)]
pub struct SentSeqs(Vec<(u64, u64)>);

impl Sent {
    /// Holds the record: take it before appending, record the sequences, then drop it.
    pub fn lock(&self) -> MutexGuard<'_, SentSeqs> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A pool whose appends are recorded in a [`Sent`]: the record is held across each batch until
/// its sequences are in it.
pub struct Recorded<'a> {
    /// Where the messages go (a local pool, or a remote pool's sink).
    pub pool: &'a dyn Sink,
    /// What this process sent.
    pub sent: &'a Sent,
}

impl Sink for Recorded<'_> {
    fn max_payload_len(&self) -> usize {
        self.pool.max_payload_len()
    }

    fn append_batch(
        &self,
        payloads: &[Vec<u8>],
        durability: Durability,
        out: &mut Vec<Appended>,
    ) -> Result<(), Error> {
        let mut sent = self.sent.lock();
        let before = out.len();
        let result = self.pool.append_batch(payloads, durability, out);
        for a in out.get(before..).unwrap_or_default() {
            sent.add(a.seq);
        }
        result
    }
}

impl SentSeqs {
    /// Records `seq` (appends come in ascending order; a repeat is ignored).
    pub fn add(&mut self, seq: u64) {
        match self.0.last_mut() {
            Some((_, hi)) if seq <= *hi => {}
            Some((_, hi)) if seq == *hi + 1 => *hi = seq,
            _ => self.0.push((seq, seq)),
        }
    }

    /// Whether `seq` was sent; ranges wholly before it are forgotten (the follow side asks in
    /// ascending order, so the record stays small however long the chat).
    fn take_up_to(&mut self, seq: u64) -> bool {
        let i = self.0.partition_point(|&(_, hi)| hi < seq);
        self.0.drain(..i);
        self.0.first().is_some_and(|&(lo, _)| lo <= seq)
    }
}

/// Duplex's sender suppression: what this process sent, and messages from `--me`.
struct Hide {
    sent: Arc<Sent>,
    me: Option<String>,
}

impl Predicate for Hide {
    fn matches(&self, msg: &MessageView<'_>) -> Result<bool, Error> {
        if self.sent.lock().take_up_to(msg.seq) {
            return Ok(false);
        }
        if let Some(me) = &self.me
            && let Ok(Some(ValueRef::Str(from))) = envelope::field(msg.payload, "from")
            && from == me
        {
            return Ok(false);
        }
        Ok(true)
    }
}

/// Runs `duplex`.
pub fn run(m: &Matches, ui: &Ui, pool_dir: &Path, argv: &[String]) -> Result<u8, Error> {
    let mut a = follow::parse(m)?;
    let me = m.value("me").map(str::to_owned);
    if ui.stdin_tty && me.is_none() {
        return Err(
            usage("TTY input requires --me for duplex", Some(m.command)).with_hint(
                "Pass --me NAME: each line you type is sent as {\"from\":NAME,\"msg\":LINE}.",
            ),
        );
    }
    #[cfg(feature = "remote")]
    if let Some(r) = pool::remote_ref(a.pool)? {
        follow::check_remote(m, &a)?;
        if a.since.is_some_and(|t| t > now_ns()) {
            return Ok(0);
        }
        let remote = pool::open_remote(&r, m)?;
        let url = remote.url().to_owned();
        // The live edge is fixed (the follower's first request) before the sender starts.
        let src = follow::remote_source(remote.clone(), &a, &[], &[])?;
        let (matcher, stop, done_rx) = start(ui, Target::Remote(remote), &a, me, m)?;
        let followed = follow::follow_remote(ui, &src, &url, &a, &matcher, None, Some(&stop))?;
        return finish(followed, &stop, &done_rx);
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
    // The live edge is fixed before the sender starts: what it appends is always after it, so
    // with --echo-self one's own messages are always shown, never only when the follow side
    // happened to start first.
    a.live_after = Some(pool.state()?.newest);
    let (matcher, stop, done_rx) = start(ui, Target::Local(Arc::clone(&pool)), &a, me, m)?;
    // A failure of the follow side is never hidden behind the sender's result.
    let followed = follow::follow(ui, &pool, &a, &matcher, None, Some(&stop))?;
    finish(followed, &stop, &done_rx)
}

/// The result of duplex: the sender's when it ended first, else the follower's.
fn finish(
    followed: u8,
    stop: &Cancel,
    done_rx: &mpsc::Receiver<Result<u8, Error>>,
) -> Result<u8, Error> {
    if stop.is_cancelled()
        && let Ok(sent) = done_rx.try_recv()
    {
        return sent;
    }
    Ok(followed)
}

type Started = (Matcher, Cancel, mpsc::Receiver<Result<u8, Error>>);

/// Starts the sender on its own thread; the follower's matcher (hiding what it sends), the
/// flag it raises when it ends and its result.
fn start(
    ui: &Ui,
    target: Target,
    a: &follow::Args<'_>,
    me: Option<String>,
    m: &Matches,
) -> Result<Started, Error> {
    let sent = Arc::new(Sent::default());
    let matcher = Matcher {
        hide: (!m.has("echo-self")).then(|| {
            Arc::new(Hide {
                sent: Arc::clone(&sent),
                me: me.clone(),
            }) as Arc<dyn Predicate>
        }),
        ..Matcher::default()
    };
    // The sender blocks in reads of stdin that nothing can interrupt, so it runs detached:
    // when the follower ends first the process exits without waiting for it.
    let stop = Cancel::new();
    let (done_tx, done_rx) = mpsc::channel();
    let sender = Sender {
        ui: *ui,
        target,
        name: a.pool.to_owned(),
        me,
        sent,
    };
    let sender_stop = stop.clone();
    std::thread::Builder::new()
        .name("duplex-sender".into())
        .spawn(move || {
            let result = sender.run();
            // The result is sent before the flag is raised, so the follower finds it waiting.
            let _ = done_tx.send(result);
            sender_stop.cancel();
        })
        .map_err(|e| {
            Error::new(ErrorKind::Internal, "failed to start the sender thread")
                .with_source(e)
                .with_hint("The system is out of threads or memory; retry.")
        })?;
    Ok((matcher, stop, done_rx))
}

/// Where the sender appends.
enum Target {
    Local(Arc<Pool>),
    #[cfg(feature = "remote")]
    Remote(crate::remote::RemotePool),
}

/// The sending half.
struct Sender {
    ui: Ui,
    target: Target,
    name: String,
    me: Option<String>,
    sent: Arc<Sent>,
}

impl Sender {
    fn run(&self) -> Result<u8, Error> {
        match &self.target {
            Target::Local(pool) => self.send(pool.as_ref(), &pool.path().display().to_string()),
            #[cfg(feature = "remote")]
            Target::Remote(pool) => self.send(&pool.sink(&[]), pool.url()),
        }
    }

    fn send(&self, sink: &dyn Sink, pool_path: &str) -> Result<u8, Error> {
        match &self.me {
            Some(me) if self.ui.stdin_tty => self.lines(me, sink),
            _ => {
                let args = feed::Args::stream_defaults(&self.name);
                let recorded = Recorded {
                    pool: sink,
                    sent: &self.sent,
                };
                feed::stream(
                    &self.ui,
                    &recorded,
                    pool_path,
                    &args,
                    Box::new(std::io::stdin()),
                    feed::stdin_may_wait(),
                    false,
                )
            }
        }
    }

    /// Each non-blank line typed becomes `{"from":ME,"msg":LINE}`; EOF ends with 0.
    fn lines(&self, me: &str, sink: &dyn Sink) -> Result<u8, Error> {
        let max = sink.max_payload_len();
        let recorded = Recorded {
            pool: sink,
            sent: &self.sent,
        };
        let mut batcher = Batcher::new(&recorded as &dyn Sink, Durability::Fast).without_receipts();
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
