//! Values between Python and the engine: JSON values into Python objects, and Python objects
//! straight into a Lite³ message envelope.
//!
//! # Invariants
//! - `encode_py` gives the bytes `json.dumps` followed by the engine's JSON encoding gives: the
//!   common types (`dict` with `str` keys, `list`, `tuple`, `str`, `int` within 64 bits, finite
//!   `float`, `bool`, `None`) are written directly, with object keys in bytewise order as the
//!   engine writes them; anything else (subclasses, other key types, huge ints, NaN) takes the
//!   `json.dumps` path, so the outcome — value or error — is the same either way.
//!
//! Spec: `spec/LITE3.md` §7 (JSON mapping); `spec/API.md` §3 (appending).

use plasmite_os::core::lite3::write::{Key, Value as Lv, Writer};
use plasmite_os::core::lite3::{Lite3Error, Lite3ErrorKind};
use plasmite_os::message::{self, DATA_NESTING_MAX};
use plasmite_os::{Cause, Error};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::Value;
use std::cell::Cell;

/// A JSON value as Python objects (`dict`, `list`, `str`, `int`, `float`, `bool`, `None`).
pub(crate) fn json_to_py(py: Python<'_>, v: &Value) -> PyResult<Py<PyAny>> {
    Ok(match v {
        Value::Null => py.None(),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any().unbind()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any().unbind()
            } else {
                n.as_f64()
                    .unwrap_or(f64::NAN)
                    .into_pyobject(py)?
                    .into_any()
                    .unbind()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any().unbind(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, item) in map {
                dict.set_item(k, json_to_py(py, item)?)?;
            }
            dict.into_any().unbind()
        }
    })
}

static JSON_DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Whether the direct encode met a value it does not write (then `json.dumps` decides).
struct State {
    fallback: Cell<bool>,
}

impl State {
    fn fail(&self) -> Lite3Error {
        self.fallback.set(true);
        Lite3Error {
            kind: Lite3ErrorKind::BadType,
            offset: 0,
        }
    }
}

/// Encodes `value` (the message's `data`) with `tags` into a Lite³ envelope of at most
/// `max_len` bytes. `Err(Ok(e))` is the engine's error (a Usage error for a value it refuses),
/// `Err(Err(py_err))` a Python exception (e.g. `json.dumps` refusing a type).
pub(crate) fn encode_py(
    py: Python<'_>,
    value: &Bound<'_, PyAny>,
    tags: &[&str],
    max_len: usize,
) -> Result<Vec<u8>, Result<Error, PyErr>> {
    if let Ok(dict) = value.cast_exact::<PyDict>() {
        let state = State {
            fallback: Cell::new(false),
        };
        let r = message::encode_with(tags, max_len, 0, |w, at| fill_dict(w, at, dict, 1, &state));
        if !state.fallback.get() {
            return r.map_err(Ok);
        }
    }
    // The path of the reference: json.dumps, then the JSON text.
    let dumps = JSON_DUMPS.import(py, "json", "dumps").map_err(Err)?;
    let text: String = dumps
        .call1((value,))
        .and_then(|t| t.extract())
        .map_err(Err)?;
    message::encode_json(&text, tags, max_len).map_err(|e| {
        Ok(match e.cause() {
            Some(Cause::InvalidJson) => crate::usage(
                &e.message().replacen("invalid JSON", "invalid json", 1),
                "Pass JSON-serialisable data with finite numbers.",
            ),
            _ => e,
        })
    })
}

fn fill_dict(
    w: &mut Writer<'_>,
    at: u32,
    dict: &Bound<'_, PyDict>,
    level: usize,
    state: &State,
) -> Result<(), Lite3Error> {
    let mut entries: Vec<(Bound<'_, PyString>, Bound<'_, PyAny>)> = Vec::with_capacity(dict.len());
    for (k, v) in dict.iter() {
        match k.cast_into_exact::<PyString>() {
            Ok(k) => entries.push((k, v)),
            Err(_) => return Err(state.fail()),
        }
    }
    let mut keyed: Vec<(&str, &Bound<'_, PyAny>)> = Vec::with_capacity(entries.len());
    for (k, v) in &entries {
        match k.to_str() {
            Ok(s) => keyed.push((s, v)),
            Err(_) => return Err(state.fail()),
        }
    }
    // Python's str order is code-point order, which is UTF-8 byte order; a dict has no
    // duplicate keys.
    keyed.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (k, v) in keyed {
        insert(w, at, Key::Name(k), v, level, state)?;
    }
    Ok(())
}

fn insert(
    w: &mut Writer<'_>,
    at: u32,
    key: Key<'_>,
    v: &Bound<'_, PyAny>,
    level: usize,
    state: &State,
) -> Result<(), Lite3Error> {
    let value = if v.is_none() {
        Lv::Null
    } else if let Ok(s) = v.cast_exact::<PyString>() {
        match s.to_str() {
            Ok(s) => return w.insert(at, key, Lv::Str(s)).map(|_| ()),
            Err(_) => return Err(state.fail()),
        }
    } else if let Ok(b) = v.cast_exact::<PyBool>() {
        Lv::Bool(b.is_true())
    } else if v.cast_exact::<PyInt>().is_ok() {
        match v.extract::<i64>() {
            Ok(i) => Lv::I64(i),
            Err(_) => return Err(state.fail()),
        }
    } else if let Ok(f) = v.cast_exact::<PyFloat>() {
        let x = f.value();
        if !x.is_finite() {
            return Err(state.fail());
        }
        Lv::F64(x)
    } else if let Ok(d) = v.cast_exact::<PyDict>() {
        let inner = nested(w, at, key, Lv::Object, level)?;
        return fill_dict(w, inner, d, level + 1, state);
    } else if let Ok(l) = v.cast_exact::<PyList>() {
        let inner = nested(w, at, key, Lv::Array, level)?;
        for item in l.iter() {
            insert(w, inner, Key::Append, &item, level + 1, state)?;
        }
        return Ok(());
    } else if let Ok(t) = v.cast_exact::<PyTuple>() {
        let inner = nested(w, at, key, Lv::Array, level)?;
        for item in t.iter() {
            insert(w, inner, Key::Append, &item, level + 1, state)?;
        }
        return Ok(());
    } else {
        return Err(state.fail());
    };
    w.insert(at, key, value).map(|_| ())
}

fn nested(
    w: &mut Writer<'_>,
    at: u32,
    key: Key<'_>,
    kind: Lv<'_>,
    level: usize,
) -> Result<u32, Lite3Error> {
    if level >= DATA_NESTING_MAX {
        return Err(Lite3Error {
            kind: Lite3ErrorKind::NestingTooDeep,
            offset: at,
        });
    }
    w.insert(at, key, kind)
}

/// A message's envelope built straight from its Lite³ bytes into Python objects (one walk, no
/// intermediate tree). `None` when Python could not allocate an object.
pub(crate) struct Built(Option<Py<PyAny>>);

impl Built {
    fn of(f: impl FnOnce(Python<'_>) -> PyResult<Py<PyAny>>) -> Built {
        Built(Python::attach(|py| f(py).ok()))
    }

    /// The built object (a `MemoryError`-like failure of Python when it is missing).
    pub(crate) fn into_py(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        match self.0 {
            Some(v) => Ok(v.into_bound(py)),
            None => Err(PyErr::fetch(py)),
        }
    }
}

impl message::Build for Built {
    fn null() -> Built {
        Built::of(|py| Ok(py.None()))
    }

    fn bool(b: bool) -> Built {
        Built::of(|py| Ok(PyBool::new(py, b).to_owned().into_any().unbind()))
    }

    fn int(n: i128) -> Built {
        Built::of(|py| Ok(n.into_pyobject(py)?.into_any().unbind()))
    }

    fn float(x: f64) -> Built {
        Built::of(|py| Ok(x.into_pyobject(py)?.into_any().unbind()))
    }

    fn string(s: String) -> Built {
        Built::of(|py| Ok(PyString::new(py, &s).into_any().unbind()))
    }

    fn object(entries: Vec<(String, Built)>) -> Built {
        Built::of(|py| {
            let dict = PyDict::new(py);
            for (k, v) in entries {
                let v = v.into_py(py)?;
                dict.set_item(k, v)?;
            }
            Ok(dict.into_any().unbind())
        })
    }

    fn array(items: Vec<Built>) -> Built {
        Built::of(|py| {
            let list = PyList::empty(py);
            for v in items {
                list.append(v.into_py(py)?)?;
            }
            Ok(list.into_any().unbind())
        })
    }
}
