//! `Message`, `MessageMeta` and `Lite3Frame`: what reads and appends return.
//!
//! # Invariants
//! - A message read from a pool keeps its stored payload and decodes each field on first access
//!   (then caches it): iterating messages costs a copy of the payload and one small object, and
//!   only the fields a program reads are ever decoded.
//! - `raw` is the compact envelope `{"seq","time","meta","data"}` — the bytes `append_json`,
//!   `get_json` and streams return, `data` with keys sorted bytewise as the engine prints them.
//! - A payload that does not decode surfaces as `CorruptError` with the message's sequence when
//!   the field is read.
//!
//! Spec: `bindings/python/README.md` (Message); `spec/API.md` §4.

use crate::OrRaise;
use crate::convert::Built;
use plasmite_os::Error;
use plasmite_os::core::lite3::envelope::Envelope;
use plasmite_os::message::{self, Printed};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyList, PyString};
use std::fmt;

static TIME_FROM_NS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// A UTC `datetime` of a time in Unix nanoseconds (truncated to microseconds).
fn time_from_ns(py: Python<'_>, ns: u64) -> PyResult<Py<PyAny>> {
    let f = TIME_FROM_NS.import(py, "plasmite._support", "_time_from_ns")?;
    Ok(f.call1((ns,))?.unbind())
}

/// The compact envelope of a stored message: `{"seq":N,"time":"…","meta":{"tags":[…]},
/// "data":{…}}`, printed by the engine in that member order.
pub(crate) fn envelope(seq: u64, timestamp_ns: u64, payload: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(payload.len() + 64);
    let printed = Printed {
        seq,
        timestamp_ns,
        payload,
    };
    message::print_seq_first(&mut out, &printed)?;
    Ok(out)
}

/// The tags of a stored payload.
fn stored_tags(payload: &[u8]) -> Result<Vec<String>, Error> {
    let env = Envelope::parse(payload).map_err(message::corrupt)?;
    env.tags()
        .map(|t| t.map(str::to_owned).map_err(message::corrupt))
        .collect()
}

/// The `data` of a stored payload as Python objects, built straight from the Lite³ bytes.
fn stored_data(py: Python<'_>, seq: u64, ts: u64, payload: &[u8]) -> PyResult<Py<PyAny>> {
    let printed = Printed {
        seq,
        timestamp_ns: ts,
        payload,
    };
    let built: Built = message::build(&printed)
        .map_err(|e| message::corrupt(e).with_seq(seq))
        .or_raise(py)?;
    let envelope = built.into_py(py)?;
    Ok(envelope.get_item("data")?.unbind())
}

/// One message: `seq`, `time` (UTC `datetime`), `time_rfc3339`, `data`, `meta` (`tags`) and
/// `raw` (the envelope bytes).
#[pyclass(module = "plasmite", frozen)]
pub(crate) struct Message {
    seq: u64,
    /// Append time in Unix ns, when the message came from a pool.
    timestamp_ns: Option<u64>,
    /// The stored Lite³ payload, when the message came from a pool.
    payload: Option<Vec<u8>>,
    data: PyOnceLock<Py<PyAny>>,
    meta: PyOnceLock<Py<PyAny>>,
    time: PyOnceLock<Py<PyAny>>,
    time_rfc3339: PyOnceLock<Py<PyAny>>,
    raw: PyOnceLock<Py<PyAny>>,
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("seq", &self.seq)
            .field("timestamp_ns", &self.timestamp_ns)
            .finish_non_exhaustive()
    }
}

impl Message {
    /// A message read from (or just appended to) a pool.
    pub(crate) fn stored(seq: u64, timestamp_ns: u64, payload: Vec<u8>) -> Message {
        Message {
            seq,
            timestamp_ns: Some(timestamp_ns),
            payload: Some(payload),
            data: PyOnceLock::new(),
            meta: PyOnceLock::new(),
            time: PyOnceLock::new(),
            time_rfc3339: PyOnceLock::new(),
            raw: PyOnceLock::new(),
        }
    }

    fn stored_parts(&self) -> Option<(u64, &[u8])> {
        Some((self.timestamp_ns?, self.payload.as_deref()?))
    }

    fn field<'py>(
        &self,
        py: Python<'py>,
        cell: &PyOnceLock<Py<PyAny>>,
        make: impl FnOnce(u64, &[u8]) -> PyResult<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = cell.get_or_try_init(py, || match self.stored_parts() {
            Some((ts, payload)) => make(ts, payload),
            None => Ok(py.None()),
        })?;
        Ok(v.bind(py).clone())
    }
}

#[pymethods]
impl Message {
    #[new]
    #[pyo3(signature = (seq, time, time_rfc3339, data, meta, raw))]
    fn new(
        py: Python<'_>,
        seq: u64,
        time: Py<PyAny>,
        time_rfc3339: Py<PyAny>,
        data: Py<PyAny>,
        meta: Py<PyAny>,
        raw: Py<PyAny>,
    ) -> Message {
        let set = |v: Py<PyAny>| {
            let cell = PyOnceLock::new();
            let _ = cell.set(py, v);
            cell
        };
        Message {
            seq,
            timestamp_ns: None,
            payload: None,
            data: set(data),
            meta: set(meta),
            time: set(time),
            time_rfc3339: set(time_rfc3339),
            raw: set(raw),
        }
    }

    /// The message's sequence number.
    #[getter]
    fn seq(&self) -> u64 {
        self.seq
    }

    /// The append time as a UTC `datetime` (microsecond precision).
    #[getter]
    fn time<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if let Some(ts) = self.timestamp_ns {
            let v = self.time.get_or_try_init(py, || time_from_ns(py, ts))?;
            return Ok(v.bind(py).clone());
        }
        self.field(py, &self.time, |_, _| Ok(py.None()))
    }

    /// The append time as RFC 3339 UTC text with nanoseconds (trailing zeros trimmed).
    #[getter]
    fn time_rfc3339<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, &self.time_rfc3339, |ts, _| {
            Ok(PyString::new(py, &plasmite_os::time::rfc3339(ts))
                .into_any()
                .unbind())
        })
    }

    /// The append time in Unix nanoseconds.
    #[getter]
    fn timestamp_ns(&self, py: Python<'_>) -> PyResult<Option<u64>> {
        if let Some(ts) = self.timestamp_ns {
            return Ok(Some(ts));
        }
        let text = self.time_rfc3339(py)?;
        let Ok(text) = text.extract::<String>() else {
            return Ok(None);
        };
        Ok(plasmite_os::time::parse_rfc3339(&text).map(plasmite_os::time::saturating_ns))
    }

    /// The message's data (usually a `dict`), decoded on first access.
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let seq = self.seq;
        self.field(py, &self.data, |ts, payload| {
            stored_data(py, seq, ts, payload)
        })
    }

    /// `MessageMeta` with the message's tags.
    #[getter]
    fn meta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let seq = self.seq;
        self.field(py, &self.meta, |_, payload| {
            let tags = stored_tags(payload)
                .map_err(|e| e.with_seq(seq))
                .or_raise(py)?;
            let meta = MessageMeta {
                tags: PyList::new(py, tags)?.into_any().unbind(),
            };
            Ok(Py::new(py, meta)?.into_any())
        })
    }

    /// The message's tags (`meta.tags`).
    #[getter]
    fn tags<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.meta(py)?.getattr("tags")
    }

    /// The compact JSON envelope bytes `{"seq","time","meta","data"}`.
    #[getter]
    fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let seq = self.seq;
        self.field(py, &self.raw, |ts, payload| {
            let bytes = envelope(seq, ts, payload)
                .map_err(|e| e.with_seq(seq))
                .or_raise(py)?;
            Ok(PyBytes::new(py, &bytes).into_any().unbind())
        })
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let Ok(other) = other.cast::<Message>() else {
            return Ok(py.NotImplemented());
        };
        let o = other.get();
        let same = self.seq == o.seq
            && self.time_rfc3339(py)?.eq(o.time_rfc3339(py)?)?
            && self.tags(py)?.eq(o.tags(py)?)?
            && self.data(py)?.eq(o.data(py)?)?;
        Ok(pyo3::types::PyBool::new(py, same)
            .to_owned()
            .into_any()
            .unbind())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Message(seq={}, time_rfc3339={}, tags={}, data={})",
            self.seq,
            self.time_rfc3339(py)?.repr()?,
            self.tags(py)?.repr()?,
            self.data(py)?.repr()?
        ))
    }
}

/// A message's metadata: its tags.
#[pyclass(module = "plasmite", frozen)]
#[derive(Debug)]
pub(crate) struct MessageMeta {
    tags: Py<PyAny>,
}

#[pymethods]
impl MessageMeta {
    #[new]
    #[pyo3(signature = (tags = None))]
    fn new(py: Python<'_>, tags: Option<Py<PyAny>>) -> PyResult<MessageMeta> {
        let tags = match tags {
            Some(t) => t,
            None => PyList::empty(py).into_any().unbind(),
        };
        Ok(MessageMeta { tags })
    }

    /// The tags (`list[str]`).
    #[getter]
    fn tags(&self, py: Python<'_>) -> Py<PyAny> {
        self.tags.clone_ref(py)
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let Ok(other) = other.cast::<MessageMeta>() else {
            return Ok(py.NotImplemented());
        };
        let same = self.tags.bind(py).eq(other.get().tags.bind(py))?;
        Ok(pyo3::types::PyBool::new(py, same)
            .to_owned()
            .into_any()
            .unbind())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("MessageMeta(tags={})", self.tags.bind(py).repr()?))
    }
}

/// A raw stored message: `seq`, `timestamp_ns`, `flags` and the Lite³ `payload`.
#[pyclass(module = "plasmite", frozen)]
#[derive(Debug)]
pub(crate) struct Lite3Frame {
    seq: u64,
    timestamp_ns: u64,
    flags: u32,
    payload: Py<PyBytes>,
}

impl Lite3Frame {
    pub(crate) fn of(py: Python<'_>, seq: u64, timestamp_ns: u64, payload: &[u8]) -> Lite3Frame {
        Lite3Frame {
            seq,
            timestamp_ns,
            flags: 0,
            payload: PyBytes::new(py, payload).unbind(),
        }
    }
}

#[pymethods]
impl Lite3Frame {
    #[new]
    #[pyo3(signature = (seq, timestamp_ns, flags, payload))]
    fn new(seq: u64, timestamp_ns: u64, flags: u32, payload: Py<PyBytes>) -> Lite3Frame {
        Lite3Frame {
            seq,
            timestamp_ns,
            flags,
            payload,
        }
    }

    /// Sequence number.
    #[getter]
    fn seq(&self) -> u64 {
        self.seq
    }

    /// Append time, Unix nanoseconds.
    #[getter]
    fn timestamp_ns(&self) -> u64 {
        self.timestamp_ns
    }

    /// Frame flags (0).
    #[getter]
    fn flags(&self) -> u32 {
        self.flags
    }

    /// The Lite³ payload bytes.
    #[getter]
    fn payload(&self, py: Python<'_>) -> Py<PyBytes> {
        self.payload.clone_ref(py)
    }

    /// The append time as a UTC `datetime`.
    #[getter]
    fn time(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        time_from_ns(py, self.timestamp_ns)
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let Ok(other) = other.cast::<Lite3Frame>() else {
            return Ok(py.NotImplemented());
        };
        let o = other.get();
        let same = self.seq == o.seq
            && self.timestamp_ns == o.timestamp_ns
            && self.flags == o.flags
            && self.payload.bind(py).as_bytes() == o.payload.bind(py).as_bytes();
        Ok(pyo3::types::PyBool::new(py, same)
            .to_owned()
            .into_any()
            .unbind())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Lite3Frame(seq={}, timestamp_ns={}, flags={}, payload=<{} bytes>)",
            self.seq,
            self.timestamp_ns,
            self.flags,
            self.payload.bind(py).as_bytes().len()
        )
    }
}
