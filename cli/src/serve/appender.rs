//! Group commit for single-message appends: concurrent `append` and `append_lite3` requests of
//! one pool are appended together, in one batch under one lock.
//!
//! Role: each request would otherwise hop to a blocking thread, take the pool's file lock and
//! wake the followers for one message. Here a pool's appends go to its appender thread, which
//! takes whatever requests are waiting (up to [`BATCH_MAX`]), encodes them, appends them with
//! one `append_batch` and answers each with its own sequence and time. One request alone is
//! appended at once; under load, batches grow by themselves.
//!
//! # Invariants
//! - Every job gets exactly one answer: its receipt, or the error that refused it (a message
//!   that does not encode or does not fit is refused alone; the others of its batch go on).
//! - Jobs of one pool are appended in the order they were queued; `flush` jobs are synced
//!   before they are answered.
//! - The queue is bounded ([`QUEUE_MAX`]): a full queue refuses at once (Busy), never blocks
//!   the runtime. An appender with nothing to do for [`IDLE`] ends; the next append starts a
//!   new one.
//!
//! Spec: `spec/HTTP.md` §4.2.

use super::state::Pools;
use bytes::Bytes;
use plasmite_os::message::{Printed, encode, to_value};
use plasmite_os::{Appended, Durability, Error, ErrorKind, Pool, PoolName};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::oneshot;

/// Most jobs appended in one batch.
pub const BATCH_MAX: usize = 1024;
/// Most jobs queued for one pool.
pub const QUEUE_MAX: usize = 4096;
/// An appender idle this long ends.
pub const IDLE: Duration = Duration::from_secs(2);

/// What to append.
#[derive(Debug)]
pub enum Payload {
    /// A JSON object and its tags, to encode.
    Json { data: Value, tags: Vec<String> },
    /// An encoded envelope, checked already.
    Lite3(Bytes),
}

/// One append request.
#[derive(Debug)]
struct Job {
    payload: Payload,
    durability: Durability,
    reply: oneshot::Sender<Result<Value, Error>>,
}

/// The appenders running, by pool name.
#[derive(Debug, Default)]
pub struct Appenders(Arc<Mutex<Map>>);

/// Each appender's queue, with a number telling one appender from its successor.
#[derive(Debug, Default)]
struct Map {
    queues: HashMap<String, (u64, SyncSender<Job>)>,
    started: u64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn busy() -> Error {
    Error::new(ErrorKind::Busy, "server storage executor is saturated")
        .with_hint("Retry later with backoff, or send messages in bulk (append_jsonl).")
}

impl Appenders {
    /// Appends `payload` to pool `name`; its envelope.
    pub async fn append(
        &self,
        pools: &Arc<Pools>,
        name: &PoolName,
        payload: Payload,
        durability: Durability,
    ) -> Result<Value, Error> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            payload,
            durability,
            reply,
        };
        self.send(pools, name, job)?;
        answer.await.unwrap_or_else(|_| {
            Err(Error::new(ErrorKind::Internal, "the appender stopped")
                .with_hint("Retry; report it if it persists."))
        })
    }

    /// Queues `job` for `name`'s appender, starting one when none runs. Sends happen under
    /// the map's lock, and an appender leaves the map under it before its last look at its
    /// queue: a job is never queued for an appender that has ended.
    fn send(&self, pools: &Arc<Pools>, name: &PoolName, job: Job) -> Result<(), Error> {
        let mut map = lock(&self.0);
        let tx = match map.queues.get(name.as_str()) {
            Some((_, tx)) => tx.clone(),
            None => {
                let (tx, rx) = mpsc::sync_channel(QUEUE_MAX);
                map.started += 1;
                let id = map.started;
                let (pools, name2, all) = (Arc::clone(pools), name.clone(), Arc::clone(&self.0));
                std::thread::Builder::new()
                    .name("plasmite-append".into())
                    .spawn(move || run(&pools, &name2, &rx, &all, id))
                    .map_err(|e| {
                        Error::new(ErrorKind::Internal, "cannot start an appender thread")
                            .with_hint("The system is short of threads or memory; retry later.")
                            .with_source(e)
                    })?;
                map.queues
                    .insert(name.as_str().to_owned(), (id, tx.clone()));
                tx
            }
        };
        match tx.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(busy()),
            Err(TrySendError::Disconnected(_)) => {
                Err(Error::new(ErrorKind::Internal, "the appender stopped")
                    .with_hint("Retry; report it if it persists."))
            }
        }
    }
}

/// The appender thread of pool `name` (number `id`).
fn run(pools: &Pools, name: &PoolName, rx: &Receiver<Job>, all: &Mutex<Map>, id: u64) {
    let mut jobs = Vec::with_capacity(BATCH_MAX);
    loop {
        match rx.recv_timeout(IDLE) {
            Ok(j) => jobs.push(j),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                // Leave the map, then take what was queued before leaving: nothing can be
                // queued after.
                let mut map = lock(all);
                if map.queues.get(name.as_str()).is_some_and(|(i, _)| *i == id) {
                    map.queues.remove(name.as_str());
                }
                drop(map);
                jobs.extend(rx.try_iter());
                if jobs.is_empty() {
                    return;
                }
            }
        }
        while jobs.len() < BATCH_MAX {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        match pools.get(name) {
            Ok(pool) => append_all(&pool, &mut jobs),
            Err(e) => {
                for j in jobs.drain(..) {
                    let _ = j.reply.send(Err(copy(&e)));
                }
            }
        }
    }
}

/// A copy of `e` (kind, message, hint, path, seq, offset) for each job it refused.
fn copy(e: &Error) -> Error {
    let mut c = Error::new(e.kind(), e.message().to_owned());
    if let Some(h) = e.hint() {
        c = c.with_hint(h.to_owned());
    }
    if let Some(p) = e.path() {
        c = c.with_path(p);
    }
    if let Some(s) = e.seq() {
        c = c.with_seq(s);
    }
    if let Some(o) = e.offset() {
        c = c.with_offset(o);
    }
    if let Some(cause) = e.cause() {
        c = c.with_cause(cause);
    }
    c
}

/// Encodes and appends `jobs` (emptied), answering each.
fn append_all(pool: &Pool, jobs: &mut Vec<Job>) {
    let max = pool.max_payload_len();
    let mut ready: Vec<(Vec<u8>, Job)> = Vec::with_capacity(jobs.len());
    for j in jobs.drain(..) {
        let encoded = match &j.payload {
            Payload::Json { data, tags } => {
                let refs: Vec<&str> = tags.iter().map(String::as_str).collect();
                encode(data, &refs, max)
            }
            Payload::Lite3(b) if b.len() > max => Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "the message is {} bytes; the pool holds at most {max}",
                    b.len()
                ),
            )
            .with_hint("Send a smaller message, or create a larger pool.")),
            Payload::Lite3(b) => Ok(b.to_vec()),
        };
        match encoded {
            Ok(p) => ready.push((p, j)),
            Err(e) => {
                let _ = j.reply.send(Err(e));
            }
        }
    }
    // Runs of one durability, in order.
    while !ready.is_empty() {
        let d = ready[0].1.durability;
        let n = ready.iter().take_while(|(_, j)| j.durability == d).count();
        let run: Vec<(Vec<u8>, Job)> = ready.drain(..n).collect();
        append_run(pool, run, d);
    }
}

fn append_run(pool: &Pool, run: Vec<(Vec<u8>, Job)>, durability: Durability) {
    let payloads: Vec<&[u8]> = run.iter().map(|(p, _)| p.as_slice()).collect();
    let mut out: Vec<Appended> = Vec::with_capacity(run.len());
    let result = pool.append_batch(&payloads, durability, &mut out);
    let done = out.len();
    let mut failed = result.err();
    for (i, (payload, job)) in run.into_iter().enumerate() {
        let answer = match out.get(i) {
            Some(a) => to_value(&Printed {
                seq: a.seq,
                timestamp_ns: a.timestamp_ns,
                payload: &payload,
            }),
            // The first job not appended gets the batch's error; the ones after it are
            // tried again on their own (the error may have been that one message's).
            None if i == done => Err(failed.take().unwrap_or_else(|| {
                Error::new(ErrorKind::Internal, "the batch ended early")
                    .with_hint("Retry; report it if it persists.")
            })),
            None => pool.append(&payload, durability).and_then(|a| {
                to_value(&Printed {
                    seq: a.seq,
                    timestamp_ns: a.timestamp_ns,
                    payload: &payload,
                })
            }),
        };
        let _ = job.reply.send(answer);
    }
}
