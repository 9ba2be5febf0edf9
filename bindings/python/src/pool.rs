//! `Pool`: appends, reads, streams and tails of one open pool.
//!
//! # Invariants
//! - A closed pool refuses every call with `UsageError`; streams opened from it keep their own
//!   share of the mapping and go on.
//! - `append` and `append_json` store what the engine's JSON encoding stores for the same
//!   value; both return the committed message (`raw` is the envelope with the stored time).
//! - `fast` appends run with the GIL held (they take microseconds under the pool's writer
//!   lock); `flush` appends and everything that may wait release it.
//!
//! Spec: `spec/API.md` §3–§5; `bindings/python/README.md` (Pool).

use crate::convert::{encode_py, json_to_py};
use crate::message::{Lite3Frame, Message, envelope};
use crate::stream::{Lite3Stream, Options, Reader, Stream, Tail};
use crate::{OrRaise, Shared, tags_arg, to_py_err, u64_arg, usage};
use plasmite_os::message;
use plasmite_os::{Appended, Cause, Durability, Error, ErrorKind, Pool as OsPool};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyBytes, PyTuple};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// The pool's name as `list` shows it: the file name without `.plasmite`.
pub(crate) fn file_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// An open pool.
#[pyclass(module = "plasmite", frozen)]
#[derive(Debug)]
pub(crate) struct Pool {
    shared: Shared,
    path: PathBuf,
}

impl Pool {
    pub(crate) fn new(pool: OsPool) -> Pool {
        Pool {
            path: pool.path().to_path_buf(),
            shared: RwLock::new(Some(Arc::new(pool))),
        }
    }

    fn handle(&self, py: Python<'_>) -> PyResult<Arc<OsPool>> {
        let guard = self
            .shared
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match guard.as_ref() {
            Some(p) => Ok(p.clone()),
            None => Err(to_py_err(
                py,
                &usage("pool is closed", "Open the pool again.").with_path(&self.path),
            )),
        }
    }

    fn append_payload(
        py: Python<'_>,
        pool: &OsPool,
        payload: &[u8],
        d: Durability,
    ) -> PyResult<Appended> {
        match d {
            Durability::Fast => pool.append(payload, d).or_raise(py),
            _ => py.detach(|| pool.append(payload, d)).or_raise(py),
        }
    }

    fn reader(&self, py: Python<'_>, opts: Options) -> PyResult<Reader> {
        let pool = self.handle(py)?;
        Reader::open(pool, opts).or_raise(py)
    }
}

/// `opts` with the `pls` that evaluates its `where` expressions, when it has some.
fn with_evaluator(py: Python<'_>, mut opts: Options) -> PyResult<Options> {
    if !opts.wheres.is_empty() {
        let find = PLS.import(py, "plasmite._support", "_pls_path")?;
        opts.evaluator = find
            .call0()?
            .extract::<Option<String>>()?
            .map(PathBuf::from);
    }
    Ok(opts)
}

/// Runs `f` on the bytes of a `bytes`, `bytearray` or `memoryview` argument.
fn with_bytes<R>(
    v: &Bound<'_, PyAny>,
    name: &str,
    f: impl FnOnce(&[u8]) -> PyResult<R>,
) -> PyResult<R> {
    if let Ok(b) = v.cast::<PyBytes>() {
        return f(b.as_bytes());
    }
    if let Ok(b) = v.cast::<PyByteArray>() {
        return f(&b.to_vec());
    }
    if v.is_instance_of::<pyo3::types::PyMemoryView>() {
        let b = v.call_method0("tobytes")?;
        return f(b.cast::<PyBytes>()?.as_bytes());
    }
    Err(PyTypeError::new_err(format!(
        "{name} must be bytes, bytearray or memoryview"
    )))
}

fn json_usage(message: String) -> Error {
    Error::new(ErrorKind::Usage, message).with_hint("Pass one JSON object encoded as UTF-8.")
}

/// Where `append_json` encodes a message and prints its data and envelope (reused, per
/// thread: nothing in between runs Python code, so a call never meets its own borrow).
#[derive(Default)]
struct Scratch {
    json: message::JsonScratch,
    payload: Vec<u8>,
    data: Vec<u8>,
    envelope: Vec<u8>,
}

thread_local! {
    static ENVELOPE: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

static REPLAY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static PLS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static ATAIL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

#[pymethods]
impl Pool {
    /// The pool file.
    #[getter]
    fn path(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }

    /// The pool's name (its file name without `.plasmite`).
    #[getter]
    fn name(&self) -> String {
        file_name(&self.path)
    }

    /// Appends one JSON object (bytes) with tags; returns the committed envelope bytes.
    fn append_json<'py>(
        &self,
        py: Python<'py>,
        payload: &Bound<'py, PyAny>,
        tags: &Bound<'py, PyAny>,
        durability: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let pool = self.handle(py)?;
        let tags = tags_arg(Some(tags))?;
        let d = crate::durability(py, durability)?;
        let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
        ENVELOPE.with_borrow_mut(|scratch| {
            let Scratch {
                json: json_scratch,
                payload: stored,
                data,
                envelope: out,
            } = scratch;
            stored.clear();
            data.clear();
            with_bytes(payload, "payload", |json| {
                if json.is_empty() {
                    return Err(PyValueError::new_err("payload must not be empty"));
                }
                let text = std::str::from_utf8(json)
                    .map_err(|_| json_usage("invalid json utf-8".to_owned()))
                    .or_raise(py)?;
                // Straight from the text to Lite³, the data printed on the way; a syntax error
                // keeps 0.8.0's wording.
                message::encode_json_printing(
                    json_scratch,
                    stored,
                    text,
                    &tag_refs,
                    pool.max_payload_len(),
                    data,
                )
                .map_err(|e| match e.cause() {
                    Some(Cause::InvalidJson) => {
                        json_usage(e.message().replacen("invalid JSON", "invalid json", 1))
                    }
                    _ => e,
                })
                .or_raise(py)
            })?;
            let appended = Pool::append_payload(py, &pool, stored, d)?;
            out.clear();
            message::print_seq_first_parts(
                out,
                appended.seq,
                appended.timestamp_ns,
                &tag_refs,
                data,
            );
            Ok(PyBytes::new(py, out))
        })
    }

    /// Appends `value` (a dict, as `json.dumps` would write it) with tags; returns the
    /// committed `Message`.
    #[pyo3(signature = (value, tags = None, durability = 0))]
    fn append(
        &self,
        py: Python<'_>,
        value: &Bound<'_, PyAny>,
        tags: Option<&Bound<'_, PyAny>>,
        durability: i64,
    ) -> PyResult<Message> {
        let pool = self.handle(py)?;
        let tags = tags_arg(tags)?;
        let d = crate::durability_code(py, durability)?;
        let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
        let stored = match encode_py(py, value, &tag_refs, pool.max_payload_len()) {
            Ok(p) => p,
            Err(Ok(e)) => return Err(to_py_err(py, &e)),
            Err(Err(e)) => return Err(e),
        };
        let appended = Pool::append_payload(py, &pool, &stored, d)?;
        Ok(Message::stored(appended.seq, appended.timestamp_ns, stored))
    }

    /// Appends an encoded Lite³ message envelope verbatim; returns its sequence number.
    fn append_lite3(
        &self,
        py: Python<'_>,
        payload: &Bound<'_, PyAny>,
        durability: &Bound<'_, PyAny>,
    ) -> PyResult<u64> {
        let pool = self.handle(py)?;
        let d = crate::durability(py, durability)?;
        with_bytes(payload, "payload", |bytes| {
            if bytes.is_empty() {
                return Err(PyValueError::new_err("payload must not be empty"));
            }
            message::check(bytes)
                .map_err(message::corrupt)
                .or_raise(py)?;
            Ok(Pool::append_payload(py, &pool, bytes, d)?.seq)
        })
    }

    /// The envelope bytes of message `seq`.
    fn get_json<'py>(
        &self,
        py: Python<'py>,
        seq: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let seq = u64_arg(seq, "seq")?;
        let pool = self.handle(py)?;
        let m = pool.get(seq).or_raise(py)?;
        let bytes = envelope(m.seq, m.timestamp_ns, &m.payload)
            .map_err(|e| m.view().locate(e))
            .or_raise(py)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Message `seq`.
    fn get(&self, py: Python<'_>, seq: &Bound<'_, PyAny>) -> PyResult<Message> {
        let seq = u64_arg(seq, "seq")?;
        let pool = self.handle(py)?;
        let m = pool.get(seq).or_raise(py)?;
        // Checked now, as a read of a damaged message fails at once.
        message::check(&m.payload)
            .map_err(|e| m.view().locate(message::corrupt(e)))
            .or_raise(py)?;
        Ok(Message::stored(m.seq, m.timestamp_ns, m.payload))
    }

    /// Message `seq` as a raw frame.
    fn get_lite3(&self, py: Python<'_>, seq: &Bound<'_, PyAny>) -> PyResult<Lite3Frame> {
        let seq = u64_arg(seq, "seq")?;
        let pool = self.handle(py)?;
        let m = pool.get(seq).or_raise(py)?;
        Ok(Lite3Frame::of(py, m.seq, m.timestamp_ns, &m.payload))
    }

    /// A stream of envelope bytes.
    #[pyo3(signature = (since_seq = None, max_messages = None, timeout_ms = None, error_on_gap = false))]
    fn open_stream(
        &self,
        py: Python<'_>,
        since_seq: Option<&Bound<'_, PyAny>>,
        max_messages: Option<&Bound<'_, PyAny>>,
        timeout_ms: Option<&Bound<'_, PyAny>>,
        error_on_gap: bool,
    ) -> PyResult<Stream> {
        let opts = Options::parse(since_seq, max_messages, timeout_ms, error_on_gap)?;
        Ok(Stream::new(self.reader(py, opts)?))
    }

    /// A stream of raw frames.
    #[pyo3(signature = (since_seq = None, max_messages = None, timeout_ms = None, error_on_gap = false))]
    fn open_lite3_stream(
        &self,
        py: Python<'_>,
        since_seq: Option<&Bound<'_, PyAny>>,
        max_messages: Option<&Bound<'_, PyAny>>,
        timeout_ms: Option<&Bound<'_, PyAny>>,
        error_on_gap: bool,
    ) -> PyResult<Lite3Stream> {
        let opts = Options::parse(since_seq, max_messages, timeout_ms, error_on_gap)?;
        Ok(Lite3Stream::new(self.reader(py, opts)?))
    }

    /// An iterator of `Message`s: from the oldest retained message (or `since_seq`, the live
    /// edge with `live=True`, the last `last` matching messages), with every tag of `tags`
    /// and passing every jq `where`, at most `max_messages`, waiting at most `timeout_ms`.
    #[pyo3(signature = (since_seq = None, max_messages = None, timeout_ms = None, tags = None, error_on_gap = false, *, r#where = None, live = false, last = None))]
    #[allow(clippy::too_many_arguments)]
    fn tail(
        &self,
        py: Python<'_>,
        since_seq: Option<&Bound<'_, PyAny>>,
        max_messages: Option<&Bound<'_, PyAny>>,
        timeout_ms: Option<&Bound<'_, PyAny>>,
        tags: Option<&Bound<'_, PyAny>>,
        error_on_gap: bool,
        r#where: Option<&Bound<'_, PyAny>>,
        live: bool,
        last: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Tail> {
        let opts = Options::parse(since_seq, max_messages, timeout_ms, error_on_gap)?
            .select(tags, r#where, live, last)?;
        Ok(Tail::new(self.reader(py, with_evaluator(py, opts)?)?))
    }

    /// `tail` for asyncio: an async iterator whose waits are the event loop's own (it watches
    /// the tail's bell, which the pool's wake hub rings).
    #[pyo3(signature = (since_seq = None, max_messages = None, timeout_ms = None, tags = None, error_on_gap = false, *, r#where = None, live = false, last = None))]
    #[allow(clippy::too_many_arguments)]
    fn atail<'py>(
        &self,
        py: Python<'py>,
        since_seq: Option<&Bound<'py, PyAny>>,
        max_messages: Option<&Bound<'py, PyAny>>,
        timeout_ms: Option<&Bound<'py, PyAny>>,
        tags: Option<&Bound<'py, PyAny>>,
        error_on_gap: bool,
        r#where: Option<&Bound<'py, PyAny>>,
        live: bool,
        last: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut opts = Options::parse(since_seq, max_messages, timeout_ms, error_on_gap)?
            .select(tags, r#where, live, last)?;
        opts.asyncio = true;
        let tail = Tail::new(self.reader(py, with_evaluator(py, opts)?)?);
        let make = ATAIL.import(py, "plasmite._aio", "ATail")?;
        make.call1((tail,))
    }

    /// Messages paced as they were appended: the time between two messages, divided by
    /// `speed`, passes before the second is yielded.
    #[pyo3(signature = (speed = 1.0, since_seq = None, max_messages = None, timeout_ms = None, tags = None, *, r#where = None))]
    #[allow(clippy::too_many_arguments)]
    fn replay<'py>(
        &self,
        py: Python<'py>,
        speed: f64,
        since_seq: Option<&Bound<'py, PyAny>>,
        max_messages: Option<&Bound<'py, PyAny>>,
        timeout_ms: Option<&Bound<'py, PyAny>>,
        tags: Option<&Bound<'py, PyAny>>,
        r#where: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if !(speed > 0.0 && speed.is_finite()) {
            return Err(PyValueError::new_err("speed must be positive"));
        }
        let tail = self.tail(
            py,
            since_seq,
            max_messages,
            timeout_ms,
            tags,
            false,
            r#where,
            false,
            None,
        )?;
        let make = REPLAY.import(py, "plasmite._support", "_replay")?;
        make.call1((tail, speed))
    }

    /// The pool-info object (the shape `pls pool info` prints).
    fn info(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let pool = self.handle(py)?;
        let info = pool.info().or_raise(py)?;
        let json = info.to_json(&file_name(&self.path), plasmite_os::now_ns());
        json_to_py(py, &json)
    }

    /// Closes the handle (idempotent). Streams opened from it go on.
    fn close(&self) {
        let mut guard = self
            .shared
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard = None;
    }

    fn __enter__(slf: Py<Pool>, py: Python<'_>) -> PyResult<Py<Pool>> {
        slf.get().handle(py)?;
        Ok(slf)
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> bool {
        self.close();
        false
    }

    fn __repr__(&self) -> String {
        format!("Pool({:?})", self.path.to_string_lossy())
    }
}
