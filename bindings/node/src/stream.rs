//! Streams: a query over a pool read synchronously (`nextJson`, `nextLite3`), in batches
//! (`nextBatch`, what the JavaScript tail loops over) and awaited (`wait`, a promise settled by
//! the pool's wake hub).
//!
//! # Invariants
//! - A stream starts at the oldest retained message (or `sinceSeq`, or the last N matching),
//!   reports a retention gap only when messages were evicted before it read them, and after a
//!   gap error (`errorOnGap`) ends for good.
//! - Without a timeout, reads never wait: they return what is available now (`null` when caught
//!   up). With one, `nextJson`/`nextLite3` wait up to that deadline, counted from open.
//! - `wait` holds no thread: it registers an `Arrival` with the pool's hub, whose thread settles
//!   the promise (through a thread-safe N-API call) when a message past the stream's position
//!   is committed or the timeout passes. `cancelWait` settles it at once with `false`.
//! - A batch holds its messages column by column: the data of all as one JSON array (one
//!   `JSON.parse` makes every `data` object), seqs, times (milliseconds, and the RFC 3339
//!   texts in one string), each message's tags as an index into the batch's distinct `meta`
//!   objects, and the envelopes (keys sorted, as the server's tails send them) whose bytes
//!   JavaScript slices only when `raw` is asked. An error met after some messages were batched
//!   is held and thrown by the next call.
//!
//! Spec: `spec/API.md` §5.2 (queries), §5.3 (the wake hub).

use crate::{envelope, to_js, u64_of, usage};
use napi::bindgen_prelude::{
    BigInt, BigUint64Array, Buffer, BufferSlice, Float64Array, Object, Uint32Array,
};
use napi::{Env, JsDeferred};
use napi_derive::napi;
use plasmite_os::hub::Arrival;
use plasmite_os::message;
use plasmite_os::query::{DamagePolicy, Item, PayloadCheck, Predicate, Stream};
use plasmite_os::{Error, ErrorKind, GapPolicy, Hub, Pool, Query, Start};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// What a stream selects and how it reads.
#[napi(object)]
#[derive(Debug)]
pub struct StreamOptions {
    /// First sequence (inclusive).
    pub since_seq: Option<BigInt>,
    /// Start with the last N matching messages instead.
    pub last: Option<BigInt>,
    /// At most this many messages.
    pub max_messages: Option<BigInt>,
    /// Synchronous reads wait up to this many ms after open (absent: never wait).
    pub timeout_ms: Option<f64>,
    /// A retention gap ends the stream with an error rather than being skipped.
    pub error_on_gap: Option<bool>,
    /// Every tag must be present.
    pub tags: Option<Vec<String>>,
    /// jq predicates, all true.
    #[napi(js_name = "where")]
    pub where_exprs: Option<Vec<String>>,
    /// Go on past the history (default true); false ends once history is read.
    pub live: Option<bool>,
}

/// A batch of messages, column by column (message `i` is row `i` of each).
#[napi(object)]
#[allow(missing_debug_implementations)]
pub struct NativeBatch {
    /// The envelopes, one after another.
    pub json: Buffer,
    /// `[data,data,…]`: every message's `data`, in order.
    pub data: Buffer,
    /// `[meta,meta,…]`: the distinct `meta` objects (`{"tags":[…]}`) of the batch.
    pub metas: String,
    /// The times' RFC 3339 texts, one after another.
    pub times: String,
    /// Five numbers per message: its envelope's start and end in `json`, its time's start and
    /// end in `times`, the index of its `meta` in `metas`.
    pub bounds: Uint32Array,
    /// Sequences.
    pub seqs: BigUint64Array,
    /// Times in milliseconds since the epoch (sub-millisecond digits dropped).
    pub times_ms: Float64Array,
}

type Deferred = JsDeferred<bool, fn(Env) -> napi::Result<bool>>;

/// The promise of one `wait`, settled once by whoever gets there first: the hub's wake-up, a
/// cancellation, or the immediate answer.
struct Slot(Mutex<Option<Deferred>>);

impl Slot {
    fn settle(&self, value: bool) {
        let taken = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(d) = taken {
            d.resolve(if value { yes } else { no });
        }
    }
}

fn yes(_: Env) -> napi::Result<bool> {
    Ok(true)
}

fn no(_: Env) -> napi::Result<bool> {
    Ok(false)
}

impl Wake for Slot {
    fn wake(self: Arc<Self>) {
        self.settle(true);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.settle(true);
    }
}

/// A wait in progress: the registration with the hub (dropped on the JavaScript thread, never
/// from the hub's wake-up, which holds the hub's lock) and its promise.
struct Pending {
    _arrival: Arrival,
    slot: Arc<Slot>,
}

/// A running query.
#[napi]
#[allow(missing_debug_implementations)]
pub struct NativeStream {
    stream: Option<Stream<Arc<Pool>>>,
    /// Synchronous reads wait (a timeout was given).
    blocking: bool,
    /// A gap error ended the stream.
    terminated: bool,
    /// An error met after a batch had messages, thrown by the next call.
    held: Option<Error>,
    scratch: Vec<u8>,
    pending: Option<Pending>,
}

/// Bytes after which a batch is closed.
const BATCH_BYTES: usize = 1 << 20;

impl NativeStream {
    pub(crate) fn open(pool: &Arc<Pool>, o: StreamOptions) -> Result<NativeStream, Error> {
        let since = o
            .since_seq
            .as_ref()
            .map(|v| u64_of(v, "sinceSeq"))
            .transpose()?;
        let last = o.last.as_ref().map(|v| u64_of(v, "last")).transpose()?;
        let limit = o
            .max_messages
            .as_ref()
            .map(|v| u64_of(v, "maxMessages"))
            .transpose()?;
        let start = match (since, last) {
            (Some(_), Some(_)) => return Err(usage("sinceSeq and last cannot be combined")),
            (Some(s), None) if s > 0 => Start::Seq(s),
            (_, Some(n)) => Start::Last(n),
            _ => Start::Oldest,
        };
        let timeout = match o.timeout_ms {
            Some(ms) if !(ms.is_finite() && ms >= 0.0) => {
                return Err(usage("timeoutMs must be a non-negative number"));
            }
            Some(ms) => Some(Duration::from_secs_f64(ms / 1000.0)),
            None => None,
        };
        let mut predicates: Vec<Arc<dyn Predicate>> = Vec::new();
        if let Some(w) = o.where_exprs.filter(|w| !w.is_empty()) {
            let compiled = plasmite_os::filter::Filter::compile(&w).map_err(Error::from)?;
            predicates.push(Arc::new(compiled));
        }
        let q = Query {
            start,
            tags: o.tags.unwrap_or_default(),
            predicates,
            limit,
            gap: if o.error_on_gap == Some(true) {
                GapPolicy::Stop
            } else {
                GapPolicy::Continue
            },
            damage: DamagePolicy::Report,
            live: o.live.unwrap_or(true),
            deadline: timeout.and_then(|t| Instant::now().checked_add(t)),
            hub: Some(Hub::of(pool)),
            check: PayloadCheck::Consumer,
            ..Query::default()
        };
        Ok(NativeStream {
            stream: Some(q.run(pool.clone())?),
            blocking: timeout.is_some(),
            terminated: false,
            held: None,
            scratch: Vec::new(),
            pending: None,
        })
    }

    /// The next message, as `take` formats it; damaged payloads are errors (located), gaps are
    /// skipped. `Ok(None)`: nothing now (or, blocking, before the deadline), or the end.
    fn next_with<R>(
        &mut self,
        take: impl Fn(&plasmite_os::MessageView<'_>, &mut Vec<u8>) -> Result<R, Error>,
    ) -> Result<Option<R>, Error> {
        if let Some(e) = self.held.take() {
            return Err(e);
        }
        let Some(stream) = self.stream.as_mut().filter(|_| !self.terminated) else {
            return Ok(None);
        };
        loop {
            let item = if self.blocking {
                stream.next(None)
            } else {
                stream.poll()
            };
            let item = match item {
                Ok(item) => item,
                Err(e) => {
                    if e.kind() == ErrorKind::RetentionGap {
                        self.terminated = true;
                    }
                    return Err(e);
                }
            };
            let (seq, offset, out) = match item {
                None => return Ok(None),
                Some(Item::Gap { .. }) => continue,
                Some(Item::Damaged(d)) => return Err(d.error),
                Some(Item::Message(m)) => (m.seq, m.offset, take(&m, &mut self.scratch)),
            };
            return match out {
                Ok(r) => Ok(Some(r)),
                Err(e) if e.kind() == ErrorKind::Corrupt => {
                    Err(stream.damage(seq, offset, e)?.error)
                }
                Err(e) => Err(e),
            };
        }
    }

    fn batch(&mut self, max_items: u32) -> Result<Option<NativeBatch>, Error> {
        if let Some(e) = self.held.take() {
            return Err(e);
        }
        let Some(stream) = self.stream.as_mut().filter(|_| !self.terminated) else {
            return Ok(None);
        };
        let mut b = Columns::default();
        while b.len() < max_items.max(1) as usize && b.json.len() < BATCH_BYTES {
            let item = match stream.poll() {
                Ok(item) => item,
                Err(e) => {
                    if e.kind() == ErrorKind::RetentionGap {
                        self.terminated = true;
                    }
                    if b.seqs.is_empty() {
                        return Err(e);
                    }
                    self.held = Some(e);
                    break;
                }
            };
            match item {
                None => break,
                // Tails skip what was evicted unread and what is damaged, as the server's do.
                Some(Item::Gap { .. } | Item::Damaged(_)) => {}
                Some(Item::Message(m)) => {
                    let (seq, offset) = (m.seq, m.offset);
                    match b.push(&m) {
                        Ok(()) => {}
                        Err(e) if e.kind() == ErrorKind::Corrupt => {
                            stream.damage(seq, offset, e)?;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(b.finish())
    }
}

/// A batch being gathered.
#[derive(Default)]
struct Columns {
    json: Vec<u8>,
    data: Vec<u8>,
    metas: Vec<u8>,
    /// The last distinct meta's range in `metas`.
    last_meta: std::ops::Range<usize>,
    meta_count: u32,
    times: Vec<u8>,
    bounds: Vec<u32>,
    seqs: Vec<u64>,
    times_ms: Vec<f64>,
}

impl Columns {
    fn len(&self) -> usize {
        self.seqs.len()
    }

    /// Adds `m`, or leaves the batch as it was when its payload is damaged.
    fn push(&mut self, m: &plasmite_os::MessageView<'_>) -> Result<(), Error> {
        // Set up at the first message, so a poll that finds nothing allocates nothing.
        if self.json.capacity() == 0 {
            self.json.reserve(160 * 1024);
            self.data.reserve(96 * 1024);
            self.data.push(b'[');
            self.metas.push(b'[');
        }
        let spans = message::print_spans(&mut self.json, &m.printed())?;
        let (json, data) = (&self.json, &mut self.data);
        if !self.seqs.is_empty() {
            data.push(b',');
        }
        data.extend_from_slice(&json[spans.data]);
        let meta = &json[spans.meta];
        if self.meta_count == 0 || meta != &self.metas[self.last_meta.clone()] {
            if self.meta_count > 0 {
                self.metas.push(b',');
            }
            let start = self.metas.len();
            self.metas.extend_from_slice(meta);
            self.last_meta = start..self.metas.len();
            self.meta_count += 1;
        }
        let time_start = self.times.len();
        self.times.extend_from_slice(&json[spans.time]);
        self.bounds.extend([
            to_u32(spans.envelope.start),
            to_u32(spans.envelope.end),
            to_u32(time_start),
            to_u32(self.times.len()),
            self.meta_count - 1,
        ]);
        self.seqs.push(m.seq);
        self.times_ms.push((m.timestamp_ns / 1_000_000) as f64);
        Ok(())
    }

    fn finish(mut self) -> Option<NativeBatch> {
        if self.seqs.is_empty() {
            return None;
        }
        self.data.push(b']');
        self.metas.push(b']');
        // Both hold printed JSON: UTF-8 from the printer, times ASCII.
        let text = |v: Vec<u8>| String::from_utf8(v).unwrap_or_default();
        Some(NativeBatch {
            json: Buffer::from(self.json),
            data: Buffer::from(self.data),
            metas: text(self.metas),
            times: text(self.times),
            bounds: Uint32Array::new(self.bounds),
            seqs: BigUint64Array::new(self.seqs),
            times_ms: Float64Array::new(self.times_ms),
        })
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[napi]
impl NativeStream {
    /// The next envelope, or `null` (caught up, the deadline passed, or the end).
    #[napi]
    pub fn next_json<'e>(&mut self, env: &'e Env) -> napi::Result<Option<BufferSlice<'e>>> {
        let next = self
            .next_with(|m, scratch| envelope::to_vec(scratch, &m.printed()))
            .map_err(|e| to_js(&e))?;
        next.map(|bytes| BufferSlice::copy_from(env, bytes))
            .transpose()
    }

    /// The next raw frame, or `null`.
    #[napi]
    pub fn next_lite3(&mut self) -> napi::Result<Option<crate::NativeFrame>> {
        self.next_with(|m, _| {
            Ok(crate::NativeFrame {
                seq: BigInt::from(m.seq),
                timestamp_ns: BigInt::from(m.timestamp_ns),
                payload: Buffer::from(m.payload.to_vec()),
            })
        })
        .map_err(|e| to_js(&e))
    }

    /// Up to `max_items` messages available now, or `null` when none is.
    #[napi]
    pub fn next_batch(&mut self, max_items: u32) -> napi::Result<Option<NativeBatch>> {
        self.batch(max_items).map_err(|e| to_js(&e))
    }

    /// Why the stream ended (`limit`, `caught_up`, `deadline`, `cancelled`, `closed`,
    /// `error`), or `null` while it runs.
    #[napi]
    pub fn ended(&self) -> Option<String> {
        if self.terminated {
            return Some("error".into());
        }
        let Some(stream) = &self.stream else {
            return Some("closed".into());
        };
        stream.ended().map(|e| {
            match e {
                plasmite_os::query::End::Limit => "limit",
                plasmite_os::query::End::CaughtUp => "caught_up",
                plasmite_os::query::End::Deadline => "deadline",
                plasmite_os::query::End::Cancelled => "cancelled",
            }
            .into()
        })
    }

    /// A promise that resolves to `true` once a message past those read so far is committed
    /// (to be read with `nextBatch`), or `false` after `timeout_ms` (absent: no timeout) or
    /// `cancelWait`. A previous wait still pending is settled with `false`.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn wait<'e>(&mut self, env: &'e Env, timeout_ms: Option<f64>) -> napi::Result<Object<'e>> {
        self.cancel_wait();
        let (deferred, promise) = env.create_deferred::<bool, fn(Env) -> napi::Result<bool>>()?;
        let slot = Arc::new(Slot(Mutex::new(Some(deferred))));
        let deadline = match timeout_ms {
            Some(ms) if ms.is_finite() && ms >= 0.0 => {
                Instant::now().checked_add(Duration::from_secs_f64(ms / 1000.0))
            }
            _ => None,
        };
        let arrival = self
            .stream
            .as_ref()
            .filter(|s| !self.terminated && s.ended().is_none())
            .and_then(|s| s.arrival(deadline));
        let Some(mut arrival) = arrival else {
            slot.settle(false);
            return Ok(promise);
        };
        let waker = Waker::from(slot.clone());
        match std::pin::Pin::new(&mut arrival).poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(v) => slot.settle(v),
            Poll::Pending => {
                self.pending = Some(Pending {
                    _arrival: arrival,
                    slot,
                });
            }
        }
        Ok(promise)
    }

    /// Settles a pending `wait` with `false` now.
    #[napi]
    pub fn cancel_wait(&mut self) {
        if let Some(p) = self.pending.take() {
            p.slot.settle(false);
        }
    }

    /// Ends the stream and releases its share of the pool.
    #[napi]
    pub fn close(&mut self) {
        self.cancel_wait();
        self.stream = None;
    }
}

use std::future::Future;
