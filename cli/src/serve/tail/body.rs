//! A tail's response body: pulls items from its source as the client reads and formats them
//! into frames.
//!
//! Role: the [`hyper::body::Body`] of every tail route. It reads its [`Source`] (the pool's
//! shared chunks, a local query or a sandboxed evaluator's channel) only when hyper asks for
//! the next frame, so a slow client holds back its own tail through TCP flow control and costs
//! one bounded buffer; when nothing is ready it waits on the pool's wake hub, the deadline, the
//! SSE heartbeat or the server's shutdown — never on a thread.
//!
//! # Invariants
//! - A frame is sent once [`FRAME_BYTES`] are ready or nothing more is ready now; frames go out
//!   in the order their items came from the source.
//! - A terminal error is the last thing written (JSON Lines: an `{"error":…}` line; SSE: an
//!   `error` event); on Lite³ it aborts the connection instead.
//! - Dropping the body cancels a sandboxed evaluator and releases the tail's place at once.
//! - An idle SSE body sends a comment every [`HEARTBEAT`]; any frame sent resets that clock.
//!
//! Spec: `spec/HTTP.md` §4.3.

use super::{Event, Format, HEARTBEAT, print_into};
use crate::serve::feed::{Feed, Taken, damaged_notice};
use crate::serve::http::{self, BodyError};
use crate::serve::log;
use crate::serve::state::State;
use bytes::Bytes;
use hyper::body::Frame;
use plasmite_os::hub::Arrival;
use plasmite_os::query::Stream;
use plasmite_os::sandbox::Found;
use plasmite_os::{Cancel, Error, Item, MessageView, Pool};
use serde_json::json;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::{OwnedSemaphorePermit, mpsc};

/// A frame is sent once this many bytes are ready (or nothing more is ready now).
const FRAME_BYTES: usize = 64 * 1024;

/// Where a tail's items come from.
pub(super) enum Source {
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
pub(super) struct TailBody {
    pub(super) source: Source,
    pub(super) format: Format,
    pub(super) buf: Vec<u8>,
    /// Frames ready to send, in order.
    pub(super) out: VecDeque<Bytes>,
    /// The tail's place among the running tails, released with the body.
    pub(super) permit: Option<OwnedSemaphorePermit>,
    pub(super) state: Arc<State>,
    pub(super) shutdown: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    pub(super) deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    pub(super) heartbeat: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The wait for the pool's next message, while one is pending.
    pub(super) arrival: Option<Arrival>,
    pub(super) done: bool,
    /// The pool's name, for log lines.
    pub(super) pool: String,
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
