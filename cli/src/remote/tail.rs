//! Remote tails: JSON Lines read as they stream, and the follower that keeps one going across
//! dropped connections and server restarts.
//!
//! Role: [`Lines`] reads a tail response one line at a time into [`Message`]s (memory bounded
//! by the longest line). [`Follower`] is the source a remote `follow` reads: a reader thread
//! that holds the tail open, reconnects with back-off when it ends or breaks, resumes at the
//! last sequence read + 1, and turns the server's gap errors into gap events.
//!
//! # Invariants
//! - Every message is delivered at most once and in sequence order, also across reconnects
//!   (the resume point is the sequence after the last one delivered; anything older that a
//!   server sends again is dropped).
//! - Messages evicted while the follower was away are reported as one gap (first missing,
//!   count), never silently skipped: tails ask for `gap_policy=error`, and a gap error is
//!   answered by resuming at the oldest message retained.
//! - The reader holds at most [`QUEUE`] messages ahead of the consumer.
//!
//! Spec: `spec/CLI.md` §3.2 (remote follow).

use super::client::{Answer, error_from_json};
use super::pool::{RemotePool, to_message};
use plasmite_os::{Error, ErrorKind, Message};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, sync_channel};
use std::time::Duration;

/// Messages the reader may hold ahead of the consumer.
pub const QUEUE: usize = 4096;

/// One line of a tail.
#[derive(Debug)]
pub enum Line {
    /// A message.
    Message(Message),
    /// The error that ended the stream (the last line).
    Error(Error),
}

/// A tail response, read line by line.
pub struct Lines {
    reader: BufReader<Box<dyn Read + Send>>,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Lines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lines")
    }
}

impl Lines {
    /// Reads the body of `answer`.
    pub fn new(answer: Answer) -> Lines {
        let body: Box<dyn Read + Send> = Box::new(answer.into_body().into_reader());
        Lines {
            reader: BufReader::with_capacity(1 << 16, body),
            buf: Vec::new(),
        }
    }

    /// The next line; `None` at the end of the stream; an error when the connection broke.
    pub fn next_line(&mut self) -> Result<Option<Line>, Error> {
        loop {
            self.buf.clear();
            let n = self.reader.read_until(b'\n', &mut self.buf).map_err(|e| {
                Error::new(ErrorKind::Io, format!("the tail broke: {e}"))
                    .with_hint("The connection to the server was lost; retry.")
                    .with_source(e)
            })?;
            if n == 0 {
                return Ok(None);
            }
            if !self.buf.ends_with(b"\n") {
                // A stream cut in the middle of a line.
                return Err(Error::new(ErrorKind::Io, "the tail ended mid-message")
                    .with_hint("The connection to the server was lost; retry."));
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let v: Value = serde_json::from_slice(&self.buf).map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("the server sent a line that is not JSON: {e}"),
                )
                .with_hint("Check that the URL names a plasmite server.")
            })?;
            if let Some(e) = v.get("error") {
                let e = error_from_json(e)
                    .unwrap_or_else(|| Error::new(ErrorKind::Io, "the tail ended with an error"));
                return Ok(Some(Line::Error(e)));
            }
            return Ok(Some(Line::Message(to_message(&v)?)));
        }
    }
}

/// What a follower yields.
#[derive(Debug)]
pub enum Event {
    /// The next message.
    Message(Message),
    /// Messages evicted before they were read.
    Gap {
        /// The first of them.
        first_missing: u64,
        /// How many.
        count: u64,
    },
}

/// Where a remote follow starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum From {
    /// Only messages appended from now on.
    Live,
    /// The last N matching messages, then live.
    Last(u64),
    /// Messages appended at or after this time (Unix ns), then live.
    Time(u64),
}

/// A remote follow's source (see the module documentation).
#[derive(Debug)]
pub struct Follower {
    rx: Receiver<Result<Event, Error>>,
    history_end: Option<u64>,
}

/// How long the reader waits before reconnecting, at most.
const BACKOFF_MAX: Duration = Duration::from_secs(2);

impl Follower {
    /// Starts following `pool` from `from`, with `tags` and `wheres` selected by the server
    /// (`wheres` only when it has `tail_where`; the caller evaluates them otherwise). The
    /// first request is made here, so a refused one (token, bad expression) is this error.
    pub fn start(
        pool: RemotePool,
        from: From,
        tags: &[String],
        wheres: &[String],
    ) -> Result<Follower, Error> {
        let health = pool.client().health().clone();
        let bounds = pool.bounds()?;
        let newest = bounds.map(|b| b.1);
        let mut first: Vec<(&'static str, String)> = Vec::new();
        match from {
            // Right after the newest message now: exact, and the same after a reconnect.
            From::Live => first.push(("since_seq", newest.map_or(1, |n| n + 1).to_string())),
            From::Last(n) if health.has("tail_last") => first.push(("last", n.to_string())),
            From::Last(n) => {
                // N raw messages; filters then apply to them.
                let since = match bounds {
                    Some((oldest, newest)) => {
                        newest.saturating_sub(n.saturating_sub(1)).max(oldest)
                    }
                    None => 1,
                };
                first.push(("since_seq", since.to_string()));
            }
            From::Time(t) => first.push(("since_time", plasmite_os::time::rfc3339(t))),
        }
        let mut common: Vec<(&'static str, String)> = vec![("gap_policy", "error".to_owned())];
        common.extend(tags.iter().map(|t| ("tag", t.clone())));
        common.extend(wheres.iter().map(|w| ("where", w.clone())));
        let mut q = first.clone();
        q.extend(common.iter().cloned());
        let lines = pool.tail(&q)?;
        let (tx, rx) = sync_channel(QUEUE);
        let reader = Reader {
            pool,
            first,
            common,
            next: None,
            tx,
        };
        std::thread::Builder::new()
            .name("remote-tail".into())
            .spawn(move || reader.run(lines))
            .map_err(|e| {
                Error::new(ErrorKind::Internal, "failed to start the tail reader")
                    .with_source(e)
                    .with_hint("The system is out of threads or memory; retry.")
            })?;
        Ok(Follower {
            rx,
            history_end: match from {
                From::Live => None,
                _ => newest,
            },
        })
    }

    /// The newest sequence when following started: messages up to it are history.
    pub fn history_end(&self) -> Option<u64> {
        self.history_end
    }

    /// The next event, waiting at most `wait` (forever when `None`); `None` when nothing came.
    pub fn next(&self, wait: Option<Duration>) -> Result<Option<Event>, Error> {
        let got = match wait {
            Some(d) => match self.rx.recv_timeout(d) {
                Ok(e) => e,
                Err(RecvTimeoutError::Timeout) => return Ok(None),
                Err(RecvTimeoutError::Disconnected) => return Err(ended()),
            },
            None => self.rx.recv().map_err(|_| ended())?,
        };
        got.map(Some)
    }

    /// The next event if one is ready.
    pub fn try_next(&self) -> Result<Option<Event>, Error> {
        match self.rx.try_recv() {
            Ok(e) => e.map(Some),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(ended()),
        }
    }
}

fn ended() -> Error {
    Error::new(ErrorKind::Internal, "the tail reader stopped")
        .with_hint("Retry; report this if it persists.")
}

struct Reader {
    pool: RemotePool,
    /// The start of the first request (repeated until a message was delivered).
    first: Vec<(&'static str, String)>,
    /// Filters and the gap policy, on every request.
    common: Vec<(&'static str, String)>,
    /// The sequence to resume at: after the last one delivered.
    next: Option<u64>,
    tx: SyncSender<Result<Event, Error>>,
}

impl Reader {
    fn run(mut self, mut lines: Lines) {
        loop {
            let (began, before) = (std::time::Instant::now(), self.next);
            match self.drain(&mut lines) {
                Ok(()) => {}
                Err(()) => return,
            }
            // A server that ends tails at once (a tiny --max-tail-timeout-ms) is not asked
            // again in a tight loop.
            if self.next == before && began.elapsed() < Duration::from_millis(100) {
                std::thread::sleep(Duration::from_millis(100));
            }
            match self.reconnect() {
                Some(l) => lines = l,
                None => return,
            }
        }
    }

    /// Delivers the messages of one response; `Err` when following must stop.
    fn drain(&mut self, lines: &mut Lines) -> Result<(), ()> {
        loop {
            match lines.next_line() {
                Ok(Some(Line::Message(m))) => {
                    if self.next.is_some_and(|n| m.seq < n) {
                        continue;
                    }
                    self.next = Some(m.seq + 1);
                    self.tx.send(Ok(Event::Message(m))).map_err(drop)?;
                }
                Ok(Some(Line::Error(e))) if e.kind() == ErrorKind::RetentionGap => {
                    return self.gap(e.seq());
                }
                Ok(Some(Line::Error(e))) => {
                    let _ = self.tx.send(Err(e));
                    return Err(());
                }
                // The end of a response (its timeout) or a broken connection: reconnect.
                Ok(None) | Err(_) => return Ok(()),
            }
        }
    }

    /// Messages from `first_missing` were evicted: report them and resume at the oldest.
    fn gap(&mut self, first_missing: Option<u64>) -> Result<(), ()> {
        let Some(first) = first_missing.or(self.next) else {
            return Ok(());
        };
        let oldest = match self.pool.bounds() {
            Ok(Some((oldest, _))) => oldest,
            Ok(None) => return Ok(()),
            Err(e) => {
                let _ = self.tx.send(Err(e));
                return Err(());
            }
        };
        if oldest > first {
            self.tx
                .send(Ok(Event::Gap {
                    first_missing: first,
                    count: oldest - first,
                }))
                .map_err(drop)?;
        }
        self.next = Some(oldest.max(first));
        Ok(())
    }

    /// Opens the tail again where it stopped, retrying unreachable servers with back-off;
    /// `None` when following must stop (the error was sent).
    fn reconnect(&mut self) -> Option<Lines> {
        let mut delay = Duration::from_millis(50);
        loop {
            let mut q = match self.next {
                Some(n) => vec![("since_seq", n.to_string())],
                None => self.first.clone(),
            };
            q.extend(self.common.iter().cloned());
            match self.pool.tail(&q) {
                Ok(l) => return Some(l),
                Err(e) if e.kind() == ErrorKind::RetentionGap => {
                    if self.gap(e.seq()).is_err() {
                        return None;
                    }
                    continue;
                }
                // Down, restarting, or too busy for now: try again.
                Err(e) if matches!(e.kind(), ErrorKind::Io | ErrorKind::Busy) => {
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(BACKOFF_MAX);
                }
                Err(e) => {
                    let _ = self.tx.send(Err(e));
                    return None;
                }
            }
        }
    }
}
