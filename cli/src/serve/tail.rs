//! Tails: a pool's messages streamed as the client reads them — JSON Lines
//! (`/v0/pools/{pool}/tail`), server-sent events (`/v0/ui/pools/{pool}/events`) and the Lite³
//! binary stream (`/v0/pools/{pool}/tail_lite3`).
//!
//! Role: parses the tail parameters into a [`Query`] (or, with `where`, a [`QuerySpec`] run in
//! the sandbox), and turns what it yields into body frames. The body pulls: it reads the pool
//! only when hyper asks for the next frame, so a slow client holds back its own tail through
//! TCP flow control and costs one bounded buffer; when nothing is committed it awaits the
//! pool's wake hub ([`Arrival`]) — a waiting tail holds no thread.
//!
//! # Invariants
//! - A tail without `since_seq` starts at the oldest retained message (never at a ring offset),
//!   so a wrapped pool reports no gap that did not happen.
//! - Messages come out in sequence order, each at most once; under `gap_policy=error` a gap
//!   ends the stream with its error (JSON Lines: a last `{"error":…}` line; SSE: an `error`
//!   event; Lite³: the connection is aborted), otherwise the stream goes on after it.
//! - SSE events carry `id: <seq>`; a reconnect with `Last-Event-ID` resumes right after it,
//!   with a `gap` event when messages were evicted meanwhile. Idle SSE streams send a comment
//!   every [`HEARTBEAT`].
//! - A tail ends at `max` messages, at its timeout, when the client goes away (its query, its
//!   evaluator if any and its place among the tails are released at once) or when the server
//!   stops.
//!
//! Spec: `spec/HTTP.md` §4.3.

mod params;

pub use params::Params;

use super::feed::{Feed, Taken, damaged_notice};
use super::http::{self, Body, BodyError, Rejection, usage};
use super::log;
use super::router::{Captures, Handler, bad_request, pool_name};
use super::state::{self, State};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use plasmite_os::hub::Arrival;
use plasmite_os::message::{Style, print};
use plasmite_os::query::{PayloadCheck, Stream};
use plasmite_os::sandbox::{Found, SandboxError};
use plasmite_os::{
    Cancel, Error, GapPolicy, Hub, Item, MessageView, Pool, Query, QuerySpec, Start,
};
use serde_json::json;
use std::collections::VecDeque;
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, mpsc};

/// How often an idle SSE stream sends a comment, so proxies and browsers keep it open.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// A frame is sent once this many bytes are ready (or nothing more is ready now).
const FRAME_BYTES: usize = 64 * 1024;
/// Items a sandboxed tail's evaluator may run ahead of its client.
const SANDBOX_AHEAD: usize = 256;

/// The wire form of a tail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// One compact envelope per line.
    Jsonl,
    /// `event: message` with `id: <seq>`.
    Sse,
    /// `[u64be seq][u64be time ns][u32be len][payload]`.
    Lite3,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Jsonl => "application/jsonl",
            Format::Sse => "text/event-stream",
            Format::Lite3 => "application/x-plasmite-lite3-stream",
        }
    }
}

/// Answers a tail route.
pub async fn handle(
    handler: Handler,
    req: Request<Incoming>,
    caps: Captures,
    state: &Arc<State>,
) -> Result<Response<Body>, Rejection> {
    let format = match handler {
        Handler::TailLite3 => Format::Lite3,
        Handler::UiEvents => Format::Sse,
        _ => Format::Jsonl,
    };
    let name = pool_name(caps.pool.as_deref()).map_err(bad_request)?;
    let params =
        Params::parse(req.uri().query(), state.config.max_tail_timeout).map_err(bad_request)?;
    if format == Format::Lite3 && params.gap_error {
        return Err(bad_request(usage(
            "gap_policy=error is not supported on tail_lite3",
            "A binary stream cannot carry an error; use /tail (JSON Lines) for gap_policy=error.",
        )));
    }
    let resume_after = match (format, req.headers().get("last-event-id")) {
        (Format::Sse, Some(v)) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    bad_request(usage(
                        "invalid Last-Event-ID",
                        "Send the id of the last event received (a sequence number).",
                    ))
                })?,
        ),
        _ => None,
    };
    drop(req);
    let permit = state.tail_permit()?;
    let st = Arc::clone(state);
    let pool = {
        let n = name.clone();
        state.storage(move || st.pools.get(&n)).await?
    };
    let start = params.start(resume_after);
    let deadline = Instant::now().checked_add(params.timeout);
    // A time start is placed by a query (it searches the pool by time), not by the feed.
    let shared =
        params.wheres.is_empty() && params.tags.is_empty() && !matches!(start, Start::Time(_));
    let source = if shared {
        let feed = state.feeds.of(&pool, format);
        let next = {
            let feed = Arc::clone(&feed);
            state::blocking(move || feed.first_seq(start)).await?
        };
        Source::Shared {
            feed,
            next,
            remaining: params.max,
            gap_error: params.gap_error,
        }
    } else if params.wheres.is_empty() {
        local(&pool, &params, start, deadline, format).await?
    } else {
        sandboxed(state, &pool, &params, start).await?
    };
    let body = TailBody {
        source,
        format,
        buf: Vec::new(),
        out: VecDeque::new(),
        permit: Some(permit),
        state: Arc::clone(state),
        shutdown: None,
        deadline: deadline.map(|d| Box::pin(tokio::time::sleep_until(d.into()))),
        heartbeat: (format == Format::Sse).then(|| Box::pin(tokio::time::sleep(HEARTBEAT))),
        arrival: None,
        done: false,
        pool: name.as_str().to_owned(),
    };
    let mut r = http::response(StatusCode::OK, format.content_type(), body.boxed_unsync());
    let h = r.headers_mut();
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    if format == Format::Sse {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, no-transform"),
        );
    } else {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(r)
}

/// A tail read in this process (no `where`).
async fn local(
    pool: &Arc<Pool>,
    p: &Params,
    start: Start,
    deadline: Option<Instant>,
    format: Format,
) -> Result<Source, Rejection> {
    let q = Query {
        start,
        tags: p.tags.clone(),
        limit: p.max,
        gap: gap_policy(p.gap_error),
        live: true,
        deadline,
        hub: Some(Hub::of(pool)),
        // JSON forms decode every message to print it, which checks it; Lite³ frames are
        // sent as stored, so the query checks them.
        check: if format == Format::Lite3 {
            PayloadCheck::Query
        } else {
            PayloadCheck::Consumer
        },
        ..Query::default()
    };
    let pool = Arc::clone(pool);
    // Placing the start may read the index (and, for `last` with tags, history): a blocking
    // read of the mapping, off the runtime.
    let stream = state::blocking(move || q.run(pool)).await?;
    Ok(Source::Local(Box::new(stream)))
}

fn gap_policy(error: bool) -> GapPolicy {
    if error {
        GapPolicy::Stop
    } else {
        GapPolicy::Continue
    }
}

/// What a sandboxed tail's thread sends.
enum Event {
    Found(Found),
    End(Option<Error>),
}

/// A tail with `where`: its query runs in an evaluator, on a blocking thread feeding a
/// channel. The expressions are checked first, so a bad one is a 400.
async fn sandboxed(
    state: &Arc<State>,
    pool: &Arc<Pool>,
    p: &Params,
    start: Start,
) -> Result<Source, Rejection> {
    let spec = QuerySpec {
        start,
        tags: p.tags.clone(),
        wheres: p.wheres.clone(),
        limit: p.max,
        gap: gap_policy(p.gap_error),
        live: true,
        timeout: Some(p.timeout),
        ..QuerySpec::default()
    };
    let check = QuerySpec {
        start: Start::Live,
        live: false,
        ..spec.clone()
    };
    let cancel = Cancel::new();
    let (sandbox, pool2, c2) = (Arc::clone(&state.sandbox), Arc::clone(pool), cancel.clone());
    state::blocking(move || match sandbox.run(&pool2, &check, &c2) {
        Ok(_) | Err(SandboxError::Cancelled) => Ok(()),
        Err(SandboxError::Where(e) | SandboxError::Other(e)) => Err(e),
    })
    .await?;
    let (tx, rx) = mpsc::channel(SANDBOX_AHEAD);
    let (sandbox, pool, c2) = (Arc::clone(&state.sandbox), Arc::clone(pool), cancel.clone());
    tokio::task::spawn_blocking(move || {
        let sent = tx.clone();
        let outcome = sandbox.run_each(&pool, &spec, &c2, |found| {
            if sent.blocking_send(Event::Found(found)).is_ok() {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        });
        let end = match outcome {
            Ok(_) | Err(SandboxError::Cancelled) => None,
            Err(SandboxError::Where(e) | SandboxError::Other(e)) => Some(e),
        };
        let _ = tx.blocking_send(Event::End(end));
    });
    Ok(Source::Sandboxed { rx, cancel })
}

/// Where a tail's items come from.
enum Source {
    /// Unfiltered: the pool's shared chunks in this format.
    Shared {
        feed: Arc<Feed>,
        next: u64,
        remaining: Option<u64>,
        gap_error: bool,
    },
    Local(Box<Stream<Arc<Pool>>>),
    Sandboxed {
        rx: mpsc::Receiver<Event>,
        cancel: Cancel,
    },
}

/// The body of a tail.
struct TailBody {
    source: Source,
    format: Format,
    buf: Vec<u8>,
    /// Frames ready to send, in order.
    out: VecDeque<Bytes>,
    /// The tail's place among the running tails, released with the body.
    permit: Option<OwnedSemaphorePermit>,
    state: Arc<State>,
    shutdown: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    heartbeat: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The wait for the pool's next message, while one is pending.
    arrival: Option<Arrival>,
    done: bool,
    /// The pool's name, for log lines.
    pool: String,
}

impl Drop for TailBody {
    fn drop(&mut self) {
        if let Source::Sandboxed { cancel, .. } = &self.source {
            cancel.cancel();
        }
        self.permit.take();
    }
}

/// What formatting one item decided.
enum Next {
    Go,
    /// The stream ends after what is buffered.
    End,
    /// The stream fails (Lite³: the connection is aborted).
    Abort(Error),
}

impl TailBody {
    /// Appends the terminal error `e` in this format; whether the connection must be aborted
    /// instead.
    fn terminal(&mut self, e: &Error) -> Next {
        match self.format {
            Format::Jsonl => {
                let _ = serde_json::to_writer(&mut self.buf, &http::error_object(e));
                self.buf.push(b'\n');
                Next::End
            }
            Format::Sse => {
                self.buf.extend_from_slice(b"event: error\ndata: ");
                let _ = serde_json::to_writer(&mut self.buf, &http::error_object(e));
                self.buf.extend_from_slice(b"\n\n");
                Next::End
            }
            Format::Lite3 => Next::Abort(Error::new(e.kind(), e.message().to_owned())),
        }
    }

    fn gap(&mut self, first_missing: u64, count: u64) {
        if self.format == Format::Sse {
            let data = json!({"count": count, "first_missing": first_missing});
            self.buf
                .extend_from_slice(format!("event: gap\ndata: {data}\n\n").as_bytes());
        }
        log::debug(&format!(
            "tail of '{}': {count} messages evicted from seq {first_missing}",
            self.pool
        ));
    }

    fn damaged(&mut self, seq: u64, offset: u64, e: &Error) {
        damaged_notice(&mut self.buf, self.format, seq, offset, e);
        log::warn(&format!(
            "tail of '{}': skipped damaged message {seq} at offset {offset}: {}",
            self.pool,
            e.message()
        ));
    }

    /// Formats what is ready now, up to [`FRAME_BYTES`], into `buf` and `out`: [`Next::Go`]
    /// when the source may have more later (wait for it), [`Next::End`] when it ended (after
    /// what is buffered), [`Next::Abort`] when the connection must be cut.
    fn fill(&mut self, cx: &mut Context<'_>) -> Next {
        loop {
            if self.buf.len() >= FRAME_BYTES {
                return Next::Go;
            }
            match &mut self.source {
                Source::Shared {
                    feed,
                    next,
                    remaining,
                    gap_error,
                } => {
                    if *remaining == Some(0) {
                        return Next::End;
                    }
                    match feed.take(*next, *remaining) {
                        Ok(Taken::Idle) => return Next::Go,
                        Ok(Taken::Data {
                            bytes,
                            next: n,
                            delivered,
                            gap,
                        }) => {
                            let gap_error = *gap_error;
                            *next = n;
                            if let Some(r) = remaining {
                                *r = r.saturating_sub(delivered);
                            }
                            if let Some((first_missing, count)) = gap {
                                if gap_error {
                                    let e = plasmite_os::follow::retention_gap(
                                        feed.pool(),
                                        first_missing,
                                        count,
                                    );
                                    return self.terminal(&e);
                                }
                                self.gap(first_missing, count);
                            }
                            if !bytes.is_empty() {
                                if !self.buf.is_empty() {
                                    self.out
                                        .push_back(Bytes::from(std::mem::take(&mut self.buf)));
                                }
                                self.out.push_back(bytes);
                                return Next::Go;
                            }
                        }
                        Err(e) => return self.terminal(&e),
                    }
                }
                Source::Local(stream) => {
                    let got = match stream.poll() {
                        Ok(Some(Item::Message(m))) => {
                            let (seq, offset) = (m.seq, m.offset);
                            // Re-borrow: `message` needs `self`; copy the view's fields.
                            let view = MessageView {
                                seq: m.seq,
                                timestamp_ns: m.timestamp_ns,
                                offset: m.offset,
                                payload: m.payload,
                            };
                            let printed = print_into(&mut self.buf, self.format, &view);
                            match printed {
                                Ok(()) => Step::Again,
                                Err(e) => match stream.damage(seq, offset, e) {
                                    Ok(d) => Step::Damaged(d.seq, d.offset, d.error),
                                    Err(e) => Step::Fail(e),
                                },
                            }
                        }
                        Ok(Some(Item::Gap {
                            first_missing,
                            count,
                        })) => Step::Gap(first_missing, count),
                        Ok(Some(Item::Damaged(d))) => Step::Damaged(d.seq, d.offset, d.error),
                        Ok(None) => {
                            if stream.ended().is_some() {
                                Step::Ended
                            } else {
                                Step::Idle
                            }
                        }
                        Err(e) => Step::Fail(e),
                    };
                    match got {
                        Step::Again => {}
                        Step::Gap(f, c) => self.gap(f, c),
                        Step::Damaged(s, o, e) => self.damaged(s, o, &e),
                        Step::Fail(e) => return self.terminal(&e),
                        Step::Ended => return Next::End,
                        Step::Idle => return Next::Go,
                    }
                }
                Source::Sandboxed { rx, .. } => match rx.poll_recv(cx) {
                    Poll::Ready(Some(Event::Found(Found::Message(m)))) => {
                        let view = m.view();
                        if let Err(e) = print_into(&mut self.buf, self.format, &view) {
                            self.damaged(m.seq, m.offset, &e);
                        }
                    }
                    Poll::Ready(Some(Event::Found(Found::Gap {
                        first_missing,
                        count,
                    }))) => self.gap(first_missing, count),
                    Poll::Ready(Some(Event::Found(Found::Damaged(d)))) => {
                        self.damaged(d.seq, d.offset, &d.error);
                    }
                    Poll::Ready(Some(Event::End(None)) | None) => return Next::End,
                    Poll::Ready(Some(Event::End(Some(e)))) => return self.terminal(&e),
                    Poll::Pending => return Next::Go,
                },
            }
        }
    }
}

/// One step of a local stream, without borrowing it.
enum Step {
    Again,
    Gap(u64, u64),
    Damaged(u64, u64, Error),
    Fail(Error),
    Ended,
    Idle,
}

/// Appends message `m` in `format` to `buf` (nothing when it does not decode).
pub fn print_into(buf: &mut Vec<u8>, format: Format, m: &MessageView<'_>) -> Result<(), Error> {
    let at = buf.len();
    let out = match format {
        Format::Jsonl => print(buf, &m.printed(), Style::Compact).map(|()| buf.push(b'\n')),
        Format::Sse => {
            buf.extend_from_slice(format!("id: {}\nevent: message\ndata: ", m.seq).as_bytes());
            print(buf, &m.printed(), Style::Compact).map(|()| buf.extend_from_slice(b"\n\n"))
        }
        Format::Lite3 => {
            let len = u32::try_from(m.payload.len()).unwrap_or(u32::MAX);
            buf.extend_from_slice(&m.seq.to_be_bytes());
            buf.extend_from_slice(&m.timestamp_ns.to_be_bytes());
            buf.extend_from_slice(&len.to_be_bytes());
            buf.extend_from_slice(m.payload);
            Ok(())
        }
    };
    if out.is_err() {
        buf.truncate(at);
    }
    out
}

impl hyper::body::Body for TailBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        loop {
            if this.done {
                if let Some(bytes) = this.out.pop_front() {
                    return Poll::Ready(Some(Ok(Frame::data(bytes))));
                }
                this.permit.take();
                return Poll::Ready(None);
            }
            if this.shutdown.is_none() {
                let st = Arc::clone(&this.state);
                this.shutdown = Some(Box::pin(async move { st.shutdown.wait().await }));
            }
            if let Some(s) = &mut this.shutdown
                && s.as_mut().poll(cx).is_ready()
            {
                this.done = true;
                continue;
            }
            let next = this.fill(cx);
            match next {
                Next::Abort(e) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(Box::new(e))));
                }
                Next::End => this.done = true,
                Next::Go => {}
            }
            if !this.buf.is_empty() {
                this.out
                    .push_back(Bytes::from(std::mem::take(&mut this.buf)));
            }
            if let Some(bytes) = this.out.pop_front() {
                if let Some(h) = &mut this.heartbeat {
                    h.as_mut().reset(tokio::time::Instant::now() + HEARTBEAT);
                }
                return Poll::Ready(Some(Ok(Frame::data(bytes))));
            }
            if this.done {
                continue;
            }
            // Nothing ready: wait for the pool, the deadline, the heartbeat or the shutdown.
            if let Some(d) = &mut this.deadline
                && d.as_mut().poll(cx).is_ready()
            {
                this.done = true;
                continue;
            }
            // The hub keeps the waker registered only while the future lives: it is kept
            // until it resolves (a resolved one is replaced, its cursor being stale).
            if this.arrival.is_none() {
                this.arrival = match &this.source {
                    Source::Local(stream) => stream.arrival(None),
                    Source::Shared { feed, next, .. } => {
                        Some(feed.hub().arrival(next.saturating_sub(1), None))
                    }
                    Source::Sandboxed { .. } => None,
                };
            }
            {
                if let Some(a) = &mut this.arrival
                    && Pin::new(a).poll(cx).is_ready()
                {
                    this.arrival = None;
                    continue;
                }
            }
            if let Some(h) = &mut this.heartbeat
                && h.as_mut().poll(cx).is_ready()
            {
                h.as_mut().reset(tokio::time::Instant::now() + HEARTBEAT);
                this.buf.extend_from_slice(b": keepalive\n\n");
                continue;
            }
            return Poll::Pending;
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done && self.buf.is_empty() && self.out.is_empty()
    }
}
