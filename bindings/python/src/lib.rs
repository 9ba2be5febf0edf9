//! `plasmite._native`: the Python package's extension module, a thin PyO3 layer over
//! `plasmite-os`.
//!
//! Role: it converts Python arguments, calls the engine (which decides everything: pool
//! references, creation, appends, queries, waiting, errors) and hands results back as Python
//! objects. The pure-Python part of the package (`python/plasmite`) holds the enums, the
//! exception classes, the asyncio and replay helpers and the remote client, and re-exports the
//! classes defined here.
//!
//! # Invariants
//! - Every engine error reaches Python as the `PlasmiteError` subclass of its kind, carrying
//!   `kind`, `code`, `message`, `hint`, `path`, `seq` and `offset` as the engine set them.
//!   Argument errors are `TypeError`/`ValueError`, as Python code expects.
//! - A wait never holds the GIL: streams wait inside `Python::detach`, on the pool's futex wake
//!   word (through the engine's `Query`), in bounded slices so signals (Ctrl-C) and `close()`
//!   from another thread are noticed promptly.
//! - A stream's lock is only ever taken without the GIL, or with `try_lock` while holding it,
//!   so a thread waiting in a stream can never deadlock against a thread holding the GIL.
//! - Messages are built lazily: a `Message` keeps the stored payload and decodes `data`, `time`,
//!   `meta` and `raw` on first access.
//!
//! Spec: `spec/API.md` (the engine), `bindings/python/README.md` (the Python API).

use plasmite_os::{CreateOptions, Durability, Error, ErrorKind, Pool as OsPool, dir};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyString, PyTuple};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

mod convert;
mod message;
mod pool;
mod stream;

pub(crate) use message::{Lite3Frame, Message, MessageMeta};
pub(crate) use pool::Pool;
pub(crate) use stream::{Lite3Stream, Stream, Tail};

/// The package's default pool size (1 MiB).
pub(crate) const DEFAULT_POOL_SIZE: u64 = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

static FROM_NATIVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The Python exception for an engine error: the `PlasmiteError` subclass of its kind, made by
/// `plasmite._support._from_native` so the classes live in one place.
pub(crate) fn to_py_err(py: Python<'_>, e: &Error) -> PyErr {
    let make = match FROM_NATIVE.import(py, "plasmite._support", "_from_native") {
        Ok(f) => f,
        Err(err) => return err,
    };
    let path = e.path().map(|p| p.to_string_lossy().into_owned());
    match make.call1((
        e.kind().code(),
        e.message_or_default(),
        e.hint(),
        path,
        e.seq(),
        e.offset(),
    )) {
        Ok(exc) => PyErr::from_value(exc),
        Err(err) => err,
    }
}

/// `Result<T, os::Error>` into `PyResult<T>`.
pub(crate) trait OrRaise<T> {
    /// The value, or the engine error raised as its Python exception.
    fn or_raise(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> OrRaise<T> for Result<T, Error> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py_err(py, &e))
    }
}

/// A Usage error of this layer (a closed handle, a bad durability).
pub(crate) fn usage(message: &str, hint: &str) -> Error {
    Error::new(ErrorKind::Usage, message).with_hint(hint)
}

// ---------------------------------------------------------------------------------------------
// Argument conversions
// ---------------------------------------------------------------------------------------------

/// A non-negative integer argument: `TypeError` when not an int, `ValueError` when negative or
/// beyond 64 bits.
pub(crate) fn u64_arg(v: &Bound<'_, PyAny>, name: &str) -> PyResult<u64> {
    if !v.is_instance_of::<pyo3::types::PyInt>() {
        return Err(PyTypeError::new_err(format!("{name} must be an int")));
    }
    v.extract::<u64>()
        .map_err(|_| PyValueError::new_err(format!("{name} must be a non-negative 64-bit int")))
}

/// An optional non-negative integer argument (`None` passes).
pub(crate) fn opt_u64(v: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<u64>> {
    match v {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) => u64_arg(v, name).map(Some),
    }
}

/// `Durability.FAST` (0) or `Durability.FLUSH` (1); anything else is a Usage error.
pub(crate) fn durability(py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<Durability> {
    durability_code(py, v.extract::<i64>().unwrap_or(-1))
}

/// [`durability`] of a number.
pub(crate) fn durability_code(py: Python<'_>, code: i64) -> PyResult<Durability> {
    match code {
        0 => Ok(Durability::Fast),
        1 => Ok(Durability::Flush),
        _ => Err(to_py_err(
            py,
            &usage(
                "invalid durability",
                "Pass Durability.FAST (0) or Durability.FLUSH (1).",
            ),
        )),
    }
}

/// Tags: `None`, one `str`, or an iterable of `str`.
pub(crate) fn tags_arg(v: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    let Some(v) = v else {
        return Ok(Vec::new());
    };
    if v.is_none() {
        return Ok(Vec::new());
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(vec![s.to_str()?.to_owned()]);
    }
    // The common case, no tags, without making an iterator.
    if v.cast::<PyList>().is_ok_and(|l| l.is_empty())
        || v.cast::<PyTuple>().is_ok_and(|t| t.is_empty())
    {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for t in v.try_iter()? {
        let t = t?;
        let s = t
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err("tags must be strings"))?;
        out.push(s.to_str()?.to_owned());
    }
    Ok(out)
}

/// A text argument that must not be empty (`ValueError`), or a path-like object.
fn text_arg(v: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    let s: String = if let Ok(s) = v.cast::<PyString>() {
        s.to_str()?.to_owned()
    } else if v.hasattr("__fspath__")? {
        v.call_method0("__fspath__")?.extract()?
    } else {
        return Err(PyTypeError::new_err(format!("{name} must be a str")));
    };
    if s.is_empty() {
        return Err(PyValueError::new_err(format!("{name} is required")));
    }
    Ok(s)
}

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

/// A pool directory: where pool names resolve. Creating a client touches nothing on disk.
#[pyclass(module = "plasmite", frozen)]
#[derive(Debug)]
pub(crate) struct Client {
    dir: PathBuf,
    closed: AtomicBool,
}

impl Client {
    fn check_open(&self, py: Python<'_>) -> PyResult<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(to_py_err(
                py,
                &usage("client is closed", "Make a new Client."),
            ));
        }
        Ok(())
    }

    /// The pool file `reference` names: a path when it contains `/`, else a name in the
    /// client's directory.
    fn resolve(&self, py: Python<'_>, reference: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
        self.check_open(py)?;
        let r = text_arg(reference, "pool_ref")?;
        if r.contains("://") {
            return Err(to_py_err(
                py,
                &usage(
                    "remote pool refs are not supported by Client",
                    "Use RemoteClient(url) for pools served over HTTP.",
                ),
            ));
        }
        Ok(dir::resolve(&self.dir, &r))
    }
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (pool_dir = None))]
    fn new(pool_dir: Option<&Bound<'_, PyAny>>) -> PyResult<Client> {
        let dir = match pool_dir {
            Some(d) if !d.is_none() => PathBuf::from(text_arg(d, "pool_dir")?),
            _ => dir::default_dir(),
        };
        Ok(Client {
            dir,
            closed: AtomicBool::new(false),
        })
    }

    /// The pool directory.
    #[getter]
    fn pool_dir(&self) -> String {
        self.dir.to_string_lossy().into_owned()
    }

    /// Creates a pool (its directory too) and opens it. `size_bytes` 0 is the default.
    #[pyo3(signature = (pool_ref, size_bytes = 1048576))]
    fn create_pool(
        &self,
        py: Python<'_>,
        pool_ref: &Bound<'_, PyAny>,
        size_bytes: i128,
    ) -> PyResult<Pool> {
        let path = self.resolve(py, pool_ref)?;
        let size = match u64::try_from(size_bytes) {
            Ok(0) => DEFAULT_POOL_SIZE,
            Ok(n) => n,
            Err(_) => {
                return Err(PyValueError::new_err(
                    "size_bytes must be a non-negative 64-bit int",
                ));
            }
        };
        let opts = CreateOptions {
            size,
            index_capacity: None,
        };
        let pool = py.detach(|| OsPool::create(&path, opts)).or_raise(py)?;
        Ok(Pool::new(pool))
    }

    /// Opens an existing pool.
    fn open_pool(&self, py: Python<'_>, pool_ref: &Bound<'_, PyAny>) -> PyResult<Pool> {
        let path = self.resolve(py, pool_ref)?;
        let pool = py.detach(|| OsPool::open(&path)).or_raise(py)?;
        Ok(Pool::new(pool))
    }

    /// Opens a pool, creating it when it does not exist.
    #[pyo3(signature = (pool_ref, size_bytes = 1048576))]
    fn pool(
        &self,
        py: Python<'_>,
        pool_ref: &Bound<'_, PyAny>,
        size_bytes: i128,
    ) -> PyResult<Pool> {
        let path = self.resolve(py, pool_ref)?;
        match py.detach(|| OsPool::open(&path)) {
            Ok(p) => Ok(Pool::new(p)),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                match self.create_pool(py, pool_ref, size_bytes) {
                    // Another process created it meanwhile.
                    Err(err) if is_kind(py, &err, ErrorKind::AlreadyExists) => {
                        self.open_pool(py, pool_ref)
                    }
                    r => r,
                }
            }
            Err(e) => Err(to_py_err(py, &e)),
        }
    }

    /// The pool-info object of a pool (the shape `pls pool info` prints).
    fn pool_info(&self, py: Python<'_>, pool_ref: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let path = self.resolve(py, pool_ref)?;
        let name = pool::file_name(&path);
        let info = py
            .detach(|| {
                OsPool::open_read_only(&path)
                    .and_then(|p| p.info())
                    .map(|i| i.to_json(&name, plasmite_os::now_ns()))
            })
            .or_raise(py)?;
        convert::json_to_py(py, &info)
    }

    /// The pools of the directory, sorted by name: each its info object, or `{"name",
    /// "path", "error"}` for a pool that cannot be read.
    fn list_pools(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.check_open(py)?;
        let dir = self.dir.clone();
        let list = py
            .detach(|| dir::list_json(&dir, plasmite_os::now_ns()))
            .or_raise(py)?;
        convert::json_to_py(py, &serde_json::Value::Array(list))
    }

    /// Deletes a pool file. Handles and streams on it keep reading what they mapped.
    fn delete_pool(&self, py: Python<'_>, pool_ref: &Bound<'_, PyAny>) -> PyResult<()> {
        let path = self.resolve(py, pool_ref)?;
        py.detach(|| dir::delete(&path)).or_raise(py)
    }

    /// Closes the client (idempotent). Pools opened from it stay open.
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    fn __enter__(slf: Py<Client>, py: Python<'_>) -> PyResult<Py<Client>> {
        slf.get().check_open(py)?;
        Ok(slf)
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close();
        false
    }

    fn __repr__(&self) -> String {
        format!("Client({:?})", self.dir.to_string_lossy())
    }
}

/// Whether a Python exception raised by this module is of engine kind `kind`.
fn is_kind(py: Python<'_>, err: &PyErr, kind: ErrorKind) -> bool {
    err.value(py)
        .getattr("code")
        .and_then(|c| c.extract::<u8>())
        .is_ok_and(|c| c == kind.code())
}

// ---------------------------------------------------------------------------------------------
// Module
// ---------------------------------------------------------------------------------------------

/// Nanoseconds since the Unix epoch of an RFC 3339 instant (`ValueError` when it is not one).
#[pyfunction]
fn parse_rfc3339_ns(text: &str) -> PyResult<i128> {
    plasmite_os::time::parse_rfc3339(text)
        .ok_or_else(|| PyValueError::new_err(format!("not an RFC 3339 time: {text:?}")))
}

/// RFC 3339 UTC text of a time in Unix nanoseconds (fraction trimmed), as messages print it.
#[pyfunction]
fn format_rfc3339_ns(ns: u64) -> String {
    plasmite_os::time::rfc3339(ns)
}

/// The engine's default pool directory (`$HOME/.plasmite/pools`).
#[pyfunction]
fn default_pool_dir() -> String {
    dir::default_dir().to_string_lossy().into_owned()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Client>()?;
    m.add_class::<Pool>()?;
    m.add_class::<Stream>()?;
    m.add_class::<Lite3Stream>()?;
    m.add_class::<Tail>()?;
    m.add_class::<Message>()?;
    m.add_class::<MessageMeta>()?;
    m.add_class::<Lite3Frame>()?;
    m.add_function(wrap_pyfunction!(parse_rfc3339_ns, m)?)?;
    m.add_function(wrap_pyfunction!(format_rfc3339_ns, m)?)?;
    m.add_function(wrap_pyfunction!(default_pool_dir, m)?)?;
    m.add("DEFAULT_POOL_SIZE", DEFAULT_POOL_SIZE)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

/// A pool handle shared by a `Pool` object and the streams opened from it; `None` once closed.
pub(crate) type Shared = RwLock<Option<Arc<OsPool>>>;
