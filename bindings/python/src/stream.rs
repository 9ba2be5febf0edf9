//! Streams: `Stream` (envelope bytes), `Lite3Stream` (raw frames) and `Tail` (`Message`s), all
//! one engine `Query` read by a `Reader`.
//!
//! # Invariants
//! - A stream starts at the oldest retained message, `since_seq`, the live edge or the last N
//!   matching messages, and reports a gap only when messages were evicted before it read them
//!   (`error_on_gap`: `RetentionGapError`, after which the stream has ended).
//! - Waiting happens without the GIL, on the pool's futex wake word, in slices of at most
//!   [`SLICE`] so a signal (Ctrl-C) raises promptly; `close()` from any thread raises the
//!   query's cancellation flag, which ends a pending wait within the engine's park bound
//!   (50 ms).
//! - The state lock is taken with `try_lock` while the GIL is held and blocking only without
//!   it, so no thread can hold the lock while waiting for the GIL held by a thread waiting for
//!   the lock.
//! - An asyncio tail never waits in a thread: `_arm` registers its wait with the pool's wake
//!   hub (or, for a sandboxed query, relies on the feeding thread), and the hub rings the
//!   tail's bell, an eventfd the event loop watches. `close()` rings it too. A message `_arm`
//!   finds is kept as pending and is the next one delivered: nothing is lost.
//!
//! Spec: `spec/API.md` §5.2 (queries); `bindings/python/README.md` (streams and tails).

use crate::message::{Lite3Frame, Message, envelope};
use crate::{OrRaise, opt_u64, tags_arg, to_py_err};
use plasmite_os::filter::Filter;
use plasmite_os::hub::{Arrival, Bell};
use plasmite_os::query::{DamagePolicy, Item, Predicate, Query, Stream as OsStream};
use plasmite_os::sandbox::{Found, SandboxError};
use plasmite_os::{Cancel, Error, ErrorKind, GapPolicy, Launcher, Pool as OsPool, QuerySpec};
use plasmite_os::{Hub, Sandbox, Start};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use std::future::Future;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The longest a wait goes without looking at signals.
const SLICE: Duration = Duration::from_millis(100);

mod source;
pub(crate) use source::Options;
use source::Source;

/// A message copied out of the pool.
#[derive(Debug)]
pub(crate) struct Owned {
    seq: u64,
    timestamp_ns: u64,
    payload: Vec<u8>,
}

#[derive(Debug)]
enum Got {
    Msg(Owned),
    Nothing,
    End,
}

struct State {
    stream: Option<Source>,
    /// Taken by `arm` (asyncio): delivered next.
    pending: Option<Owned>,
    /// The wait `arm` registered with the hub (dropped here, never by the hub).
    armed: Option<Arrival>,
    /// An error policy gap ended the stream.
    terminated: bool,
}

/// A running query shared by the methods of a stream object.
pub(crate) struct Reader {
    state: Mutex<State>,
    cancel: Cancel,
    closed: AtomicBool,
    /// Rung when an asyncio tail has news (asyncio tails only).
    bell: Option<Arc<Bell>>,
    /// The query's deadline (`timeout_ms` after open).
    deadline: Option<Instant>,
}

/// What `arm` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arming {
    /// Poll again now: a message or the end is there.
    Ready = 0,
    /// The bell rings when there is news.
    Armed = 1,
    /// Another thread is reading the stream: try again shortly.
    Busy = 2,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Drop for Reader {
    /// A reader dropped without `close()` still stops its query (and a sandboxed query's
    /// evaluator and thread) at once.
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Reader {
    pub(crate) fn open(pool: Arc<OsPool>, opts: Options) -> Result<Reader, Error> {
        let cancel = Cancel::new();
        let bell = if opts.asyncio {
            Some(Bell::new()?)
        } else {
            None
        };
        let mut deadline = None;
        let stream = match opts.evaluator.clone() {
            Some(program) if !opts.wheres.is_empty() => {
                Source::sandboxed(pool, opts.spec()?, &program, &cancel, bell.clone())
            }
            _ => {
                let asyncio = opts.asyncio;
                let mut q = opts.query(&cancel)?;
                if asyncio {
                    q.hub = Some(Hub::of(&pool));
                }
                deadline = q.deadline;
                Source::Local(Box::new(q.run(pool)?))
            }
        };
        Ok(Reader {
            state: Mutex::new(State {
                stream: Some(stream),
                pending: None,
                armed: None,
                terminated: false,
            }),
            cancel,
            closed: AtomicBool::new(false),
            bell,
            deadline,
        })
    }

    /// One step on the locked state: what is available now (`wait` `None`) or within `wait`.
    fn step(st: &mut State, wait: Option<Duration>) -> Result<Got, Error> {
        if let Some(p) = st.pending.take() {
            return Ok(Got::Msg(p));
        }
        if st.terminated {
            return Ok(Got::End);
        }
        let stream = match st.stream.as_mut() {
            None => return Ok(Got::End),
            Some(Source::Local(stream)) => stream,
            Some(Source::Sandboxed { items, done }) => {
                let r = Reader::step_sandboxed(items, done, wait);
                if let Err(e) = &r
                    && e.kind() == ErrorKind::RetentionGap
                {
                    st.terminated = true;
                }
                return r;
            }
        };
        loop {
            let r = match wait {
                None => stream.poll(),
                Some(w) => stream.next(Some(w)),
            };
            let taken = match r {
                Ok(Some(Item::Gap { .. })) => continue,
                Ok(Some(Item::Damaged(d))) => Err(d.error),
                Ok(Some(Item::Message(m))) => Ok(Some(Owned {
                    seq: m.seq,
                    timestamp_ns: m.timestamp_ns,
                    payload: m.payload.to_vec(),
                })),
                Ok(None) => Ok(None),
                Err(e) => Err(e),
            };
            return match taken {
                Ok(Some(m)) => Ok(Got::Msg(m)),
                Ok(None) if stream.ended().is_some() => Ok(Got::End),
                Ok(None) => Ok(Got::Nothing),
                Err(e) => {
                    if e.kind() == ErrorKind::RetentionGap {
                        st.terminated = true;
                    }
                    Err(e)
                }
            };
        }
    }

    /// One step of a sandboxed query: the next item its thread handed over.
    fn step_sandboxed(
        items: &Receiver<Result<Found, Error>>,
        done: &mut bool,
        wait: Option<Duration>,
    ) -> Result<Got, Error> {
        if *done {
            return Ok(Got::End);
        }
        let deadline = wait.and_then(|w| Instant::now().checked_add(w));
        loop {
            let got = match deadline {
                None => items.try_recv().map_err(|e| match e {
                    TryRecvError::Empty => RecvTimeoutError::Timeout,
                    TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
                }),
                Some(d) => items.recv_timeout(d.saturating_duration_since(Instant::now())),
            };
            return match got {
                Ok(Ok(Found::Message(m))) => Ok(Got::Msg(Owned {
                    seq: m.seq,
                    timestamp_ns: m.timestamp_ns,
                    payload: m.payload,
                })),
                Ok(Ok(Found::Gap { .. })) => continue,
                Ok(Ok(Found::Damaged(d))) => Err(d.error),
                Ok(Err(e)) => {
                    *done = true;
                    Err(e)
                }
                Err(RecvTimeoutError::Timeout) => Ok(Got::Nothing),
                Err(RecvTimeoutError::Disconnected) => {
                    *done = true;
                    Ok(Got::End)
                }
            };
        }
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// What is available now, without waiting (the GIL stays held). `Nothing` also when
    /// another thread is waiting on the stream.
    fn poll(&self, py: Python<'_>) -> PyResult<Got> {
        if self.is_closed() {
            return Ok(Got::End);
        }
        match self.state.try_lock() {
            Ok(mut st) => Reader::step(&mut st, None).or_raise(py),
            Err(std::sync::TryLockError::Poisoned(p)) => {
                Reader::step(&mut p.into_inner(), None).or_raise(py)
            }
            Err(std::sync::TryLockError::WouldBlock) => Ok(Got::Nothing),
        }
    }

    /// The next message, waiting for it without the GIL; `None` at the end.
    pub(crate) fn next(&self, py: Python<'_>) -> PyResult<Option<Owned>> {
        match self.poll(py)? {
            Got::Msg(m) => return Ok(Some(m)),
            Got::End => return Ok(None),
            Got::Nothing => {}
        }
        loop {
            let got = py.detach(|| {
                let mut st = lock(&self.state);
                if self.is_closed() {
                    st.stream = None;
                    return Ok(Got::End);
                }
                Reader::step(&mut st, Some(SLICE))
            });
            match got.or_raise(py)? {
                Got::Msg(m) => return Ok(Some(m)),
                Got::End => return Ok(None),
                Got::Nothing => py.check_signals()?,
            }
        }
    }

    /// Prepares an asyncio wait after `poll` found nothing (the GIL stays held; nothing
    /// blocks).
    fn arm(&self, py: Python<'_>) -> PyResult<Arming> {
        let Some(bell) = &self.bell else {
            return Err(PyValueError::new_err(
                "only an asyncio tail waits on its bell",
            ));
        };
        if self.is_closed() {
            return Ok(Arming::Ready);
        }
        let mut st = match self.state.try_lock() {
            Ok(st) => st,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Ok(Arming::Busy),
        };
        st.armed = None;
        if st.pending.is_some() || st.terminated {
            return Ok(Arming::Ready);
        }
        match st.stream.as_mut() {
            None => Ok(Arming::Ready),
            // A poll does not end a stream at its deadline, a wait does: past it, a wait of
            // nothing takes what is there or ends the stream.
            Some(Source::Local(_)) if self.deadline.is_some_and(|d| Instant::now() >= d) => {
                if let Got::Msg(m) = Reader::step(&mut st, Some(Duration::ZERO)).or_raise(py)? {
                    st.pending = Some(m);
                }
                Ok(Arming::Ready)
            }
            Some(Source::Local(stream)) => {
                let arrival = match stream.ended() {
                    Some(_) => None,
                    None => stream.arrival(self.deadline),
                };
                let Some(mut arrival) = arrival else {
                    return Ok(Arming::Ready);
                };
                let waker = bell.waker();
                match Pin::new(&mut arrival).poll(&mut Context::from_waker(&waker)) {
                    Poll::Ready(_) => Ok(Arming::Ready),
                    Poll::Pending => {
                        st.armed = Some(arrival);
                        Ok(Arming::Armed)
                    }
                }
            }
            // The feeding thread rings after every item it hands over: what it handed over
            // before this look is found now.
            Some(Source::Sandboxed { .. }) => match Reader::step(&mut st, None).or_raise(py)? {
                Got::Msg(m) => {
                    st.pending = Some(m);
                    Ok(Arming::Ready)
                }
                Got::End => Ok(Arming::Ready),
                Got::Nothing => Ok(Arming::Armed),
            },
        }
    }

    /// Whether the stream has ended (closed, limit, deadline, gap error).
    fn ended(&self) -> bool {
        if self.is_closed() {
            return true;
        }
        match self.state.try_lock() {
            Ok(st) => {
                st.pending.is_none()
                    && (st.terminated || st.stream.as_ref().is_none_or(Source::ended))
            }
            Err(_) => false,
        }
    }

    /// Ends the stream: a pending wait returns within the engine's park bound.
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.cancel.cancel();
        if let Ok(mut st) = self.state.try_lock() {
            st.armed = None;
            st.stream = None;
            st.pending = None;
        }
        if let Some(bell) = &self.bell {
            bell.ring();
        }
    }
}

/// Returns the stream on `__enter__` after checking it is open.
fn enter<T: pyo3::PyClass>(py: Python<'_>, slf: Py<T>, reader: &Reader) -> PyResult<Py<T>> {
    if reader.is_closed() {
        return Err(to_py_err(
            py,
            &crate::usage("stream is closed", "Open a new stream."),
        ));
    }
    Ok(slf)
}

/// A stream of message envelopes (`bytes`), from `Pool.open_stream`.
#[pyclass(module = "plasmite", frozen)]
#[derive(Debug)]
pub(crate) struct Stream {
    reader: Reader,
}

impl Stream {
    pub(crate) fn new(reader: Reader) -> Stream {
        Stream { reader }
    }
}

#[pymethods]
impl Stream {
    /// The next envelope, waiting for it; `None` at the end.
    fn next_json<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let Some(m) = self.reader.next(py)? else {
            return Ok(None);
        };
        let bytes = envelope(m.seq, m.timestamp_ns, &m.payload)
            .map_err(|e| e.with_seq(m.seq))
            .or_raise(py)?;
        Ok(Some(PyBytes::new(py, &bytes)))
    }

    fn __iter__(slf: Py<Stream>) -> Py<Stream> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        self.next_json(py)
    }

    /// Ends the stream (idempotent); a wait in another thread returns promptly.
    fn close(&self) {
        self.reader.close();
    }

    /// Whether the stream has ended.
    #[getter]
    fn ended(&self) -> bool {
        self.reader.ended()
    }

    fn __enter__(slf: Py<Stream>, py: Python<'_>) -> PyResult<Py<Stream>> {
        enter(py, slf.clone_ref(py), &slf.get().reader)
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> bool {
        self.close();
        false
    }
}

/// A stream of raw frames (`Lite3Frame`), from `Pool.open_lite3_stream`.
#[pyclass(module = "plasmite", frozen)]
#[derive(Debug)]
pub(crate) struct Lite3Stream {
    reader: Reader,
}

impl Lite3Stream {
    pub(crate) fn new(reader: Reader) -> Lite3Stream {
        Lite3Stream { reader }
    }
}

#[pymethods]
impl Lite3Stream {
    /// The next frame, waiting for it; `None` at the end.
    fn next(&self, py: Python<'_>) -> PyResult<Option<Lite3Frame>> {
        Ok(self
            .reader
            .next(py)?
            .map(|m| Lite3Frame::of(py, m.seq, m.timestamp_ns, &m.payload)))
    }

    fn __iter__(slf: Py<Lite3Stream>) -> Py<Lite3Stream> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Lite3Frame>> {
        self.next(py)
    }

    /// Ends the stream (idempotent); a wait in another thread returns promptly.
    fn close(&self) {
        self.reader.close();
    }

    /// Whether the stream has ended.
    #[getter]
    fn ended(&self) -> bool {
        self.reader.ended()
    }

    fn __enter__(slf: Py<Lite3Stream>, py: Python<'_>) -> PyResult<Py<Lite3Stream>> {
        enter(py, slf.clone_ref(py), &slf.get().reader)
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> bool {
        self.close();
        false
    }
}

/// A tail: an iterator of `Message`s, from `Pool.tail`.
#[pyclass(module = "plasmite", frozen)]
#[derive(Debug)]
pub(crate) struct Tail {
    reader: Reader,
}

impl Tail {
    pub(crate) fn new(reader: Reader) -> Tail {
        Tail { reader }
    }
}

fn message(py: Python<'_>, m: Owned) -> PyResult<Py<Message>> {
    Py::new(py, Message::stored(m.seq, m.timestamp_ns, m.payload))
}

#[pymethods]
impl Tail {
    fn __iter__(slf: Py<Tail>) -> Py<Tail> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<Message>>> {
        self.next_message(py)
    }

    /// The next message, waiting for it (without the GIL); `None` at the end.
    fn next_message(&self, py: Python<'_>) -> PyResult<Option<Py<Message>>> {
        match self.reader.next(py)? {
            Some(m) => message(py, m).map(Some),
            None => Ok(None),
        }
    }

    /// The next message if one is available now, else `None` (see `ended`).
    fn _poll(&self, py: Python<'_>) -> PyResult<Option<Py<Message>>> {
        match self.reader.poll(py)? {
            Got::Msg(m) => message(py, m).map(Some),
            Got::Nothing | Got::End => Ok(None),
        }
    }

    /// After `_poll` found nothing, prepares an asyncio wait: 0 — poll again now; 1 — wait
    /// for `_bell_fd` to be readable, `_quiet()`, then poll; 2 — another thread is reading
    /// the tail, try again shortly.
    fn _arm(&self, py: Python<'_>) -> PyResult<u8> {
        self.reader.arm(py).map(|a| a as u8)
    }

    /// The descriptor an event loop watches for `_arm`'s wait (an asyncio tail's only).
    #[getter]
    fn _bell_fd(&self) -> PyResult<i32> {
        match &self.reader.bell {
            Some(b) => Ok(b.fd()),
            None => Err(PyValueError::new_err("only an asyncio tail has a bell")),
        }
    }

    /// Quiets the bell once its ring was seen.
    fn _quiet(&self) {
        if let Some(b) = &self.reader.bell {
            b.quiet();
        }
    }

    /// Whether the tail has ended (closed, `max_messages` reached, timeout, gap error).
    #[getter]
    fn ended(&self) -> bool {
        self.reader.ended()
    }

    /// Ends the tail (idempotent); a wait in another thread returns promptly.
    fn close(&self) {
        self.reader.close();
    }

    fn __enter__(slf: Py<Tail>, py: Python<'_>) -> PyResult<Py<Tail>> {
        enter(py, slf.clone_ref(py), &slf.get().reader)
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> bool {
        self.close();
        false
    }
}
