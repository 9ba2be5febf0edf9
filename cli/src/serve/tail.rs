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

mod body;
mod params;

pub use params::Params;

use super::http::{self, Body, Rejection, usage};
use super::router::{Captures, Handler, bad_request, pool_name};
use super::state::{self, State};
use body::{Source, TailBody};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use plasmite_os::message::{Style, print};
use plasmite_os::query::PayloadCheck;
use plasmite_os::sandbox::{Found, SandboxError};
use plasmite_os::{Cancel, Error, GapPolicy, Hub, MessageView, Pool, Query, QuerySpec, Start};
use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How often an idle SSE stream sends a comment, so proxies and browsers keep it open.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
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
