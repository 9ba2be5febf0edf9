//! Shared tail chunks: the formatted bytes of a pool's recent messages, made once and handed to
//! every unfiltered tail of that pool in the same wire format.
//!
//! Role: a thousand tails of one busy pool would otherwise each decode and print every
//! message — a thousand times the work of one. A [`Feed`] (one per pool and format, alive while
//! a tail uses it) keeps the latest [`Chunk`]s: runs of consecutive sequences already in wire
//! form, with the offset where each delivered message starts. A tail at sequence `next` takes
//! the cached bytes from `next` on as one reference-counted slice (no copy); a tail that finds
//! nothing cached for `next` makes the chunk itself, and caches it when it extends the cached
//! run. Filtered tails (tags, `where`) don't come here: what they send is theirs alone.
//!
//! # Invariants
//! - Cached chunks are contiguous: each starts at the sequence after the previous one's last;
//!   a chunk covers every sequence in `first..=last` (those not delivered were damaged, and the
//!   chunk holds their notice where the format has one).
//! - A chunk ends before a gap: a gap found at the start of a read is reported to the tail that
//!   read it (and the chunk starts after it); one found later starts the next read.
//! - Only one chunk is made at a time per feed, so tails arriving together format a run once.
//! - The cache is bounded ([`CACHE_BYTES`], [`CACHE_CHUNKS`]); a tail behind it reads the pool
//!   itself, as a filtered tail does.
//!
//! Spec: `spec/HTTP.md` §4.3.

use super::tail::{Format, print_into};
use bytes::Bytes;
use plasmite_os::query::{PayloadCheck, Stream};
use plasmite_os::{Error, GapPolicy, Hub, Item, Pool, Query, Start};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError, Weak};

/// Bytes of formatted chunks a feed keeps.
pub const CACHE_BYTES: usize = 32 << 20;
/// Chunks a feed keeps.
pub const CACHE_CHUNKS: usize = 8192;
/// A chunk is cut at this many bytes.
const CHUNK_BYTES: usize = 64 * 1024;
/// ... or at this many messages.
const CHUNK_MESSAGES: usize = 4096;

/// A run of consecutive sequences in wire form.
#[derive(Debug)]
pub struct Chunk {
    first: u64,
    last: u64,
    bytes: Bytes,
    /// `(seq, offset)` of each delivered message, in order.
    marks: Vec<(u64, u32)>,
}

/// A chunk just read, and the gap `(first_missing, count)` found before it.
type Made = (Chunk, Option<(u64, u64)>);
/// A chunk, the gap before it, and whether its read stopped only because it was full.
type Filled = (Chunk, Option<(u64, u64)>, bool);

/// What a tail gets from [`Feed::take`].
#[derive(Debug)]
pub enum Taken {
    /// Bytes to send (possibly empty when every message in the range was damaged and the
    /// format has no notice), the next sequence to ask for, how many messages they deliver,
    /// and a gap found before them.
    Data {
        bytes: Bytes,
        next: u64,
        delivered: u64,
        gap: Option<(u64, u64)>,
    },
    /// Nothing is committed at `next` yet.
    Idle,
}

/// The shared chunks of one pool in one format.
#[derive(Debug)]
pub struct Feed {
    pool: Arc<Pool>,
    hub: Hub,
    format: Format,
    cache: Mutex<Cache>,
    /// Held while a chunk is made; holds the read that made the last chunk when it stopped
    /// only because the chunk was full, to go on from there (a read started by sequence
    /// beyond the index walks the ring from its tail, which per chunk would make reading a
    /// long history quadratic).
    making: Mutex<Option<Reading>>,
}

/// A read of the pool left where the last chunk ended.
struct Reading {
    /// The sequence its next message carries.
    next: u64,
    stream: Stream<Arc<Pool>>,
}

impl std::fmt::Debug for Reading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reading").field("next", &self.next).finish()
    }
}

#[derive(Debug, Default)]
struct Cache {
    chunks: VecDeque<Arc<Chunk>>,
    bytes: usize,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The feeds in use, by pool handle and format.
#[derive(Debug, Default)]
pub struct Feeds(Mutex<HashMap<(usize, Format), Weak<Feed>>>);

impl Feeds {
    /// The feed of `pool` in `format`, shared with the other tails using it.
    pub fn of(&self, pool: &Arc<Pool>, format: Format) -> Arc<Feed> {
        let key = (Arc::as_ptr(pool) as usize, format);
        let mut feeds = lock(&self.0);
        if let Some(f) = feeds.get(&key).and_then(Weak::upgrade)
            && Arc::ptr_eq(&f.pool, pool)
        {
            return f;
        }
        feeds.retain(|_, w| w.strong_count() > 0);
        let feed = Arc::new(Feed {
            pool: Arc::clone(pool),
            hub: Hub::of(pool),
            format,
            cache: Mutex::new(Cache::default()),
            making: Mutex::new(None),
        });
        feeds.insert(key, Arc::downgrade(&feed));
        feed
    }
}

impl Feed {
    /// The pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The pool's wake hub.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The first sequence a tail starting at `start` reads (a time start, which needs a search
    /// by time, is not placed here: it reads as the live edge).
    pub fn first_seq(&self, start: Start) -> Result<u64, Error> {
        let st = self.pool.state()?;
        let live = st.newest.saturating_add(1);
        Ok(match start {
            Start::Oldest if st.is_empty() => live,
            Start::Oldest => st.oldest,
            Start::Seq(s) => s,
            Start::After(s) => s.saturating_add(1),
            Start::Time(_) => live,
            Start::Last(_) if st.is_empty() => live,
            Start::Last(n) => live.saturating_sub(n).max(st.oldest),
            Start::Live => live,
        })
    }

    /// The bytes from sequence `next` on, at most `limit` messages.
    pub fn take(&self, next: u64, limit: Option<u64>) -> Result<Taken, Error> {
        if let Some(t) = self.cached(next, limit) {
            return Ok(t);
        }
        if next > self.pool.state()?.newest {
            return Ok(Taken::Idle);
        }
        let mut making = lock(&self.making);
        if let Some(t) = self.cached(next, limit) {
            return Ok(t);
        }
        let Some((chunk, gap)) = self.make(next, &mut making)? else {
            return Ok(Taken::Idle);
        };
        let chunk = Arc::new(chunk);
        self.keep(&chunk);
        let mut t = slice(&chunk, next.max(chunk.first), limit);
        if let Taken::Data { gap: g, .. } = &mut t {
            *g = gap;
        }
        Ok(t)
    }

    /// The cached bytes from `next` on, if the cache holds `next`.
    fn cached(&self, next: u64, limit: Option<u64>) -> Option<Taken> {
        let cache = lock(&self.cache);
        let i = cache.chunks.partition_point(|c| c.last < next);
        let c = cache.chunks.get(i)?;
        if c.first > next {
            return None;
        }
        let c = Arc::clone(c);
        drop(cache);
        Some(slice(&c, next, limit))
    }

    /// Caches `chunk` when it extends the cached run (or starts it).
    fn keep(&self, chunk: &Arc<Chunk>) {
        let mut cache = lock(&self.cache);
        let extends = cache
            .chunks
            .back()
            .is_none_or(|b| b.last.checked_add(1) == Some(chunk.first));
        if !extends {
            // Behind the run (a tail reading history), or the run fell behind a gap: start
            // over when this chunk is newer than everything cached.
            if cache.chunks.back().is_some_and(|b| chunk.first > b.last) {
                cache.chunks.clear();
                cache.bytes = 0;
            } else {
                return;
            }
        }
        cache.bytes += chunk.bytes.len();
        cache.chunks.push_back(Arc::clone(chunk));
        while cache.bytes > CACHE_BYTES || cache.chunks.len() > CACHE_CHUNKS {
            match cache.chunks.pop_front() {
                Some(old) => cache.bytes -= old.bytes.len(),
                None => break,
            }
        }
    }

    /// Reads the pool from `next`: the chunk, and the gap found before it.
    fn make(&self, next: u64, reading: &mut Option<Reading>) -> Result<Option<Made>, Error> {
        let resumed = reading.take().filter(|r| r.next == next).map(|r| r.stream);
        let mut stream = match resumed {
            Some(s) => s,
            None => self.start(next)?,
        };
        let made = self.fill(next, &mut stream)?;
        if let Some((c, _, true)) = &made {
            *reading = Some(Reading {
                next: c.last.saturating_add(1),
                stream,
            });
        }
        Ok(made.map(|(c, gap, _)| (c, gap)))
    }

    /// A read of the pool from `next`, to its newest message.
    fn start(&self, next: u64) -> Result<Stream<Arc<Pool>>, Error> {
        let q = Query {
            start: Start::Seq(next),
            live: false,
            gap: GapPolicy::Continue,
            // JSON forms decode every message to print it, which checks it; Lite³ frames
            // are sent as stored, so the query checks them.
            check: if self.format == Format::Lite3 {
                PayloadCheck::Query
            } else {
                PayloadCheck::Consumer
            },
            notify: false,
            ..Query::default()
        };
        q.run(Arc::clone(&self.pool))
    }

    /// The next chunk of `stream` (which starts at `next`), the gap before it, and whether it
    /// stopped only because the chunk was full (the stream can go on).
    fn fill(&self, next: u64, stream: &mut Stream<Arc<Pool>>) -> Result<Option<Filled>, Error> {
        let mut full = true;
        let mut buf = Vec::new();
        let mut marks = Vec::new();
        let mut gap = None;
        let mut first = next;
        let mut last = None;
        while buf.len() < CHUNK_BYTES && marks.len() < CHUNK_MESSAGES {
            let Some(item) = stream.poll()? else {
                full = false;
                break;
            };
            match item {
                Item::Gap {
                    first_missing,
                    count,
                } => {
                    if last.is_some() {
                        // Later reads report it (a new read: this one has taken it).
                        full = false;
                        break;
                    }
                    gap = Some((first_missing, count));
                    first = first_missing.saturating_add(count);
                }
                Item::Message(m) => {
                    let (seq, offset) = (m.seq, m.offset);
                    let at = u32::try_from(buf.len()).unwrap_or(u32::MAX);
                    match print_into(&mut buf, self.format, &m) {
                        Ok(()) => marks.push((seq, at)),
                        Err(e) => {
                            let d = stream.damage(seq, offset, e)?;
                            damaged_notice(&mut buf, self.format, d.seq, d.offset, &d.error);
                            self.log_damage(&d.error);
                        }
                    }
                    last = Some(seq);
                }
                Item::Damaged(d) => {
                    damaged_notice(&mut buf, self.format, d.seq, d.offset, &d.error);
                    self.log_damage(&d.error);
                    last = Some(d.seq);
                }
            }
        }
        let Some(last) = last else {
            return Ok(None);
        };
        Ok(Some((
            Chunk {
                first,
                last,
                bytes: Bytes::from(buf),
                marks,
            },
            gap,
            full,
        )))
    }
}

impl Feed {
    fn log_damage(&self, e: &Error) {
        super::log::warn(&format!(
            "tail of {}: skipped a damaged message: {} (seq {:?}, offset {:?})",
            self.pool.path().display(),
            e.message(),
            e.seq(),
            e.offset()
        ));
    }
}

/// The bytes of `c` from `next` on, at most `limit` messages.
fn slice(c: &Chunk, next: u64, limit: Option<u64>) -> Taken {
    let from = c.marks.partition_point(|&(s, _)| s < next);
    let start = c
        .marks
        .get(from)
        .map_or(c.bytes.len(), |&(_, o)| o as usize);
    let available = (c.marks.len() - from) as u64;
    let (end, next, delivered) = match limit {
        Some(l) if l < available => {
            let cut = from + usize::try_from(l).unwrap_or(usize::MAX);
            let end = c.marks.get(cut).map_or(c.bytes.len(), |&(_, o)| o as usize);
            let next = c
                .marks
                .get(cut)
                .map_or(c.last.saturating_add(1), |&(s, _)| s);
            (end, next, l)
        }
        _ => (c.bytes.len(), c.last.saturating_add(1), available),
    };
    Taken::Data {
        bytes: c.bytes.slice(start.min(end)..end),
        next,
        delivered,
        gap: None,
    }
}

/// The notice of a damaged message in `format` (SSE only; the other forms skip it).
pub fn damaged_notice(buf: &mut Vec<u8>, format: Format, seq: u64, offset: u64, e: &Error) {
    if format == Format::Sse {
        let data = serde_json::json!({"message": e.message(), "offset": offset, "seq": seq});
        buf.extend_from_slice(format!("event: damaged\ndata: {data}\n\n").as_bytes());
    }
}
