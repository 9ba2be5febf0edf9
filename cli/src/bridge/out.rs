//! `bridge out`: follow a pool and publish each message to a JetStream stream, waiting for the
//! stream's acknowledgements (pipelined, in a bounded window).
//!
//! Role: a reader thread follows the pool and turns each message into a subject, headers and
//! a JSON body; the publisher (async, on a session's runtime) publishes them in order and
//! collects acknowledgements. A session is one connection: on any failure the session's
//! runtime is dropped — with the client and everything it still had queued — and a new
//! session re-reads where the stream stands.
//!
//! # Invariants
//! - No state file: where to resume is the `Plasmite-Seq` header of the stream's last message
//!   from this source, read at the start of every session.
//! - Within a session messages are published in pool order on one connection, which the server
//!   stores in that order; a client never resends after a reconnection (it is dropped instead),
//!   so a message lost with a connection cannot be overtaken by a later one.
//! - A message is counted as bridged only once its acknowledgement arrived; a repeated publish
//!   (after a crash or a lost acknowledgement) carries the same `Nats-Msg-Id` and is stored once.
//! - Messages overwritten in the pool before they were published stop the bridge with
//!   RetentionGap, unless gaps are allowed (then the skipped range is reported).
//!
//! Spec: `spec/BRIDGE.md` §2.

mod reader;

use super::{Connect, H_SEQ, Reconnect, Report, nats_error, token};
use async_nats::jetstream::{self, message::PublishMessage as Publish, stream};
use plasmite_os::{Error, ErrorKind, Pool};
use reader::{Item, Reader};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};

/// What `bridge out` was asked to do.
#[derive(Clone, Debug)]
pub struct Config {
    /// The server and credentials.
    pub connect: Connect,
    /// The stream's name.
    pub stream: String,
    /// Subjects start with this (dotted tokens).
    pub prefix: String,
    /// This pool's name in the stream: one subject token, and the first part of message ids.
    pub source: String,
    /// Add one subject token per tag.
    pub subject_tags: bool,
    /// Go on past messages overwritten before they were published (reporting them).
    pub allow_gap: bool,
    /// Create the stream when it is missing, with limits sized from the pool.
    pub create_stream: bool,
    /// Publish what the pool holds when the session starts, then stop.
    pub catch_up: bool,
    /// Publishes awaiting their acknowledgement, at most.
    pub window: usize,
}

/// What a finished `bridge out` did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Messages acknowledged by the stream (duplicates included).
    pub published: u64,
    /// The last pool sequence acknowledged.
    pub last_seq: Option<u64>,
}

impl Config {
    /// The subject of messages with `tags`.
    pub fn subject(&self, tags: &[&str]) -> String {
        let mut s = format!("{}.{}", self.prefix, self.source);
        if self.subject_tags {
            for t in tags {
                s.push('.');
                s.push_str(&token(t));
            }
        }
        s
    }
}

/// How a session ended.
enum End {
    /// Caught up (`catch_up`).
    Done,
    /// The connection or a publish failed: start a new session.
    Lost(String),
    /// Stop with this error.
    Fatal(Error),
}

/// Runs `bridge out` for `pool` until it fails for good (or, with `catch_up`, is done),
/// reporting through `report`. The first connection failing is an error; later ones are
/// retried with a backoff.
pub fn run(
    pool: Arc<Pool>,
    cfg: &Config,
    report: &mut dyn FnMut(Report),
) -> Result<Summary, Error> {
    let mut summary = Summary::default();
    let mut reconnect = false;
    let mut backoff = Duration::from_millis(100);
    loop {
        let rt = super::runtime()?;
        let before = summary.published;
        let end = rt.block_on(session(&pool, cfg, reconnect, report, &mut summary));
        rt.shutdown_background();
        match end {
            End::Done => return Ok(summary),
            End::Fatal(e) => return Err(e),
            End::Lost(reason) => {
                report(Report::Disconnected { reason });
                if summary.published > before {
                    backoff = Duration::from_millis(100);
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
                reconnect = true;
            }
        }
    }
}

/// One connection's worth of bridging.
async fn session(
    pool: &Arc<Pool>,
    cfg: &Config,
    reconnect: bool,
    report: &mut dyn FnMut(Report),
    summary: &mut Summary,
) -> End {
    let lost_or_fatal = |e: Error| {
        if reconnect && e.kind() == ErrorKind::Io {
            End::Lost(e.message().to_owned())
        } else {
            End::Fatal(e)
        }
    };
    let client = match cfg.connect.connect(Reconnect::Never).await {
        Ok(c) => c,
        Err(e) => return lost_or_fatal(e),
    };
    let lost = Arc::new(Notify::new());
    let lost_flag = Arc::new(AtomicBool::new(false));
    {
        let client = client.clone();
        let lost = lost.clone();
        let flag = lost_flag.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                if client.connection_state() != async_nats::connection::State::Connected {
                    flag.store(true, Ordering::Relaxed);
                    lost.notify_one();
                    return;
                }
            }
        });
    }
    let window = cfg.window.max(1);
    let js = jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(5))
        .max_ack_inflight(window)
        .backpressure_on_inflight(true)
        .build(client.clone());
    let stream = match open_stream(&js, pool, cfg, report).await {
        Ok(s) => s,
        Err(e) => return lost_or_fatal(e),
    };
    let next = match resume_at(&stream, pool, cfg, report).await {
        Ok(n) => n,
        Err(e) => return lost_or_fatal(e),
    };
    report(Report::Resumed {
        at: next,
        reconnect,
    });
    let target = if cfg.catch_up {
        match pool.state() {
            Ok(s) if s.is_empty() || s.newest < next => return End::Done,
            Ok(s) => Some(s.newest),
            Err(e) => return End::Fatal(e),
        }
    } else {
        None
    };
    let (tx, mut rx) = mpsc::channel::<Vec<Item>>(16);
    let reader = Reader {
        pool: pool.clone(),
        cfg: cfg.clone(),
        start: next,
        target,
    };
    if let Err(e) = std::thread::Builder::new()
        .name("bridge-reader".into())
        .spawn(move || reader.run(&tx))
    {
        return End::Fatal(
            Error::new(ErrorKind::Internal, "failed to start the pool reader")
                .with_source(e)
                .with_hint("The system is out of threads or memory; retry."),
        );
    }
    type AckFuture = Pin<
        Box<
            dyn Future<
                    Output = Result<
                        jetstream::publish::PublishAck,
                        jetstream::context::PublishError,
                    >,
                > + Send,
        >,
    >;
    let mut inflight: VecDeque<(u64, AckFuture)> = VecDeque::with_capacity(window);
    let mut pending: VecDeque<Item> = VecDeque::new();
    let mut reader_done = false;
    let mut failure: Option<Error> = None;
    loop {
        if lost_flag.load(Ordering::Relaxed) {
            return End::Lost("the connection to NATS was lost".into());
        }
        // Publish what is at hand while the window has room.
        while inflight.len() < window && failure.is_none() {
            let Some(item) = pending.pop_front() else {
                break;
            };
            match item {
                Item::Message(m) => {
                    let publish = Publish::build().payload(m.body).headers(m.headers);
                    match js.send_publish(m.subject, publish).await {
                        Ok(ack) => inflight.push_back((m.seq, ack.into_future())),
                        Err(e) => return End::Lost(format!("publish failed: {e}")),
                    }
                }
                Item::Gap { first, count } => report(Report::Skipped { first, count }),
                Item::Damaged { seq } => report(Report::Damaged { seq }),
                Item::Failed(e) => failure = Some(e),
            }
        }
        if inflight.is_empty() {
            if let Some(e) = failure.take() {
                return End::Fatal(e);
            }
            if reader_done && pending.is_empty() {
                return End::Done;
            }
        }
        let want_more = pending.is_empty() && !reader_done && failure.is_none();
        tokio::select! {
            biased;
            () = lost.notified() => {
                return End::Lost("the connection to NATS was lost".into());
            }
            r = async {
                match inflight.front_mut() {
                    Some((_, f)) => f.as_mut().await,
                    None => std::future::pending().await,
                }
            }, if !inflight.is_empty() => {
                let seq = inflight.pop_front().map_or(0, |(s, _)| s);
                match r {
                    Ok(_) => {
                        summary.published += 1;
                        summary.last_seq = Some(seq);
                    }
                    Err(e) => return ack_failure(seq, &e),
                }
            }
            batch = rx.recv(), if want_more => match batch {
                Some(items) => pending.extend(items),
                None => reader_done = true,
            },
        }
    }
}

/// What a failed acknowledgement means: the connection is gone or the server is restarting
/// (a new session), or the stream refuses the message (stop).
fn ack_failure(seq: u64, e: &jetstream::context::PublishError) -> End {
    use jetstream::context::PublishErrorKind as K;
    match e.kind() {
        K::TimedOut | K::BrokenPipe | K::StreamNotFound | K::MaxAckPending => {
            End::Lost(format!("no acknowledgement for message {seq}: {e}"))
        }
        _ => End::Fatal(
            Error::new(
                ErrorKind::Io,
                format!("the stream refused message {seq}: {e}"),
            )
            .with_seq(seq)
            .with_hint(
                "Check the stream's limits (maximum message size, storage) and its subjects.",
            ),
        ),
    }
}

/// The stream, created when it is missing and creation was asked for; its subjects must take
/// this source's.
async fn open_stream(
    js: &jetstream::Context,
    pool: &Pool,
    cfg: &Config,
    report: &mut dyn FnMut(Report),
) -> Result<stream::Stream, Error> {
    use jetstream::context::GetStreamErrorKind as K;
    let mut stream = match js.get_stream(&cfg.stream).await {
        Ok(s) => s,
        Err(e) if matches!(e.kind(), K::JetStream(ref j) if j.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND) =>
        {
            if !cfg.create_stream {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("stream {} not found", cfg.stream),
                )
                .with_hint("Create the stream first, or let the bridge create it."));
            }
            let config = stream_config(pool, cfg);
            let s = js.create_stream(config).await.map_err(|e| {
                nats_error(
                    ErrorKind::Io,
                    &format!("failed to create stream {}", cfg.stream),
                    e,
                )
                .with_hint("Check the server's JetStream limits and the account's permissions.")
            })?;
            report(Report::StreamCreated {
                name: cfg.stream.clone(),
            });
            s
        }
        Err(e) => {
            return Err(nats_error(
                ErrorKind::Io,
                &format!("failed to look up stream {}", cfg.stream),
                e,
            )
            .with_hint("Check that the server runs with JetStream enabled."));
        }
    };
    let subject = cfg.subject(&[]);
    let probe = if cfg.subject_tags {
        format!("{subject}.x")
    } else {
        subject.clone()
    };
    let info = stream.info().await.map_err(|e| {
        nats_error(
            ErrorKind::Io,
            "failed to read the stream's configuration",
            e,
        )
    })?;
    if !info
        .config
        .subjects
        .iter()
        .any(|s| subject_matches(s, &subject))
        || !info
            .config
            .subjects
            .iter()
            .any(|s| subject_matches(s, &probe))
    {
        return Err(Error::new(
            ErrorKind::Usage,
            format!(
                "stream {} does not take subject {subject} (its subjects: {})",
                cfg.stream,
                info.config.subjects.join(", ")
            ),
        )
        .with_hint(format!(
            "Use a subject prefix the stream takes, or add {}.> to the stream's subjects.",
            cfg.prefix
        )));
    }
    Ok(stream)
}

/// A new stream for this pool: file storage, the subjects of the prefix, discarding the
/// oldest, and room for several times the pool's ring (a message's subject and headers take
/// more room than its frame in the pool).
pub fn stream_config(pool: &Pool, cfg: &Config) -> stream::Config {
    let ring = pool.geometry().ring_size;
    stream::Config {
        name: cfg.stream.clone(),
        subjects: vec![format!("{}.>", cfg.prefix)],
        storage: stream::StorageType::File,
        discard: stream::DiscardPolicy::Old,
        retention: stream::RetentionPolicy::Limits,
        max_bytes: i64::try_from(ring.saturating_mul(4).max(1 << 20)).unwrap_or(i64::MAX),
        duplicate_window: Duration::from_secs(120),
        allow_direct: true,
        ..Default::default()
    }
}

/// Whether subject pattern `pattern` (with `*` and `>`) matches the literal `subject`.
pub fn subject_matches(pattern: &str, subject: &str) -> bool {
    let mut p = pattern.split('.');
    let mut s = subject.split('.');
    loop {
        match (p.next(), s.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// The pool sequence this session starts at: after the stream's last message from this
/// source, checked against what the pool still holds.
async fn resume_at(
    stream: &stream::Stream,
    pool: &Pool,
    cfg: &Config,
    report: &mut dyn FnMut(Report),
) -> Result<u64, Error> {
    let subject = cfg.subject(&[]);
    let mut last = last_from(stream, &subject).await?;
    if cfg.subject_tags {
        // Tagged messages are under `subject.>`; untagged ones under `subject` itself.
        if let Some(tagged) = last_from(stream, &format!("{subject}.>")).await?
            && last.is_none_or(|l| tagged.0 > l.0)
        {
            last = Some(tagged);
        }
    }
    let state = pool.state()?;
    let Some((_, last_seq)) = last else {
        return Ok(if state.is_empty() {
            state.newest + 1
        } else {
            state.oldest
        });
    };
    let next = last_seq + 1;
    if next > state.newest + 1 {
        return Err(Error::new(
            ErrorKind::Usage,
            format!(
                "stream {} already holds message {last_seq} of source {}, but the pool's newest is {}",
                cfg.stream, cfg.source, state.newest
            ),
        )
        .with_hint(
            "The pool was re-created, or another pool publishes under the same source name: \
             give this pool a source name of its own.",
        ));
    }
    if !state.is_empty() && next < state.oldest {
        let count = state.oldest - next;
        if !cfg.allow_gap {
            return Err(Error::new(
                ErrorKind::RetentionGap,
                format!(
                    "messages {next}..{} of the pool were overwritten before they were bridged ({count} messages)",
                    state.oldest - 1
                ),
            )
            .with_seq(next)
            .with_hint(
                "The pool wrapped while the bridge was not running. Allow the gap to go on from \
                 the oldest retained message, or use a larger pool.",
            ));
        }
        report(Report::Skipped { first: next, count });
        return Ok(state.oldest);
    }
    Ok(next)
}

/// The stream sequence and `Plasmite-Seq` of the last message on `subject` (a wildcard is
/// allowed), if any.
async fn last_from(stream: &stream::Stream, subject: &str) -> Result<Option<(u64, u64)>, Error> {
    use jetstream::stream::LastRawMessageErrorKind as K;
    match stream.get_last_raw_message_by_subject(subject).await {
        Ok(m) => {
            let seq = m
                .headers
                .get(H_SEQ)
                .and_then(|v| v.as_str().parse::<u64>().ok())
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::Usage,
                        format!(
                            "the stream's last message on {subject} (stream sequence {}) has no {H_SEQ} header",
                            m.sequence
                        ),
                    )
                    .with_hint(
                        "Something other than a plasmite bridge publishes on this subject: give \
                         the pool another source name or subject prefix.",
                    )
                })?;
            Ok(Some((m.sequence, seq)))
        }
        Err(e) if matches!(e.kind(), K::NoMessageFound) => Ok(None),
        Err(e) => Err(nats_error(
            ErrorKind::Io,
            &format!("failed to read the stream's last message on {subject}"),
            e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_patterns_match_as_nats_matches_them() {
        assert!(subject_matches("pls.>", "pls.events"));
        assert!(subject_matches("pls.>", "pls.events.a.b"));
        assert!(!subject_matches("pls.>", "pls"));
        assert!(subject_matches("pls.*", "pls.events"));
        assert!(!subject_matches("pls.*", "pls.events.a"));
        assert!(subject_matches("pls.events", "pls.events"));
        assert!(!subject_matches("other.>", "pls.events"));
    }
}
