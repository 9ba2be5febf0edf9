//! Building a message's envelope `{data, meta: {tags}, seq, time}` from its Lite³ bytes into a
//! value tree: serde_json's `Value` here, jq values for filters — one walk for both.
//!
//! Spec: `spec/LITE3.md` §7 (JSON mapping).

use super::{Printed, base64, corrupt};
use crate::error::Error;
use crate::time::rfc3339;
use plasmite_core::lite3::Lite3Error;
use plasmite_core::lite3::envelope::Envelope;
use plasmite_core::lite3::read::{Container, Doc, Iter, ValueRef};
use serde_json::Value;

/// A value tree a message's envelope can be built into: serde_json's [`Value`] here, jaq's
/// values for filters. [`build`] walks the Lite³ bytes once and calls these.
pub trait Build: Sized {
    /// `null`, and what a non-finite float becomes (JSON has no NaN or infinity).
    fn null() -> Self;
    /// A boolean.
    fn bool(b: bool) -> Self;
    /// An integer (stored integers are `i64`; `seq` is `u64`).
    fn int(n: i128) -> Self;
    /// A finite float.
    fn float(x: f64) -> Self;
    /// A string (bytes values arrive base64-encoded, as they print).
    fn string(s: String) -> Self;
    /// An object, its entries sorted by key.
    fn object(entries: Vec<(String, Self)>) -> Self;
    /// An array.
    fn array(items: Vec<Self>) -> Self;
}

/// The message as `{data, meta: {tags}, seq, time}` built into `B`, straight from the Lite³
/// bytes with the same checks as [`print()`](super::print()).
pub fn build<B: Build>(msg: &Printed<'_>) -> Result<B, Lite3Error> {
    let doc = Doc::new(msg.payload)?;
    let env = Envelope::parse(msg.payload)?;
    let mut budget = doc.node_budget();
    let data = build_container(&env.data, &mut env.data.iter_budgeted(&mut budget))?;
    let mut tags = Vec::new();
    for t in env.tags() {
        tags.push(B::string(t?.to_owned()));
    }
    Ok(B::object(vec![
        ("data".to_owned(), data),
        (
            "meta".to_owned(),
            B::object(vec![("tags".to_owned(), B::array(tags))]),
        ),
        ("seq".to_owned(), B::int(i128::from(msg.seq))),
        ("time".to_owned(), B::string(rfc3339(msg.timestamp_ns))),
    ]))
}

fn build_container<'a, B: Build>(
    c: &Container<'a>,
    it: &mut Iter<'a, '_>,
) -> Result<B, Lite3Error> {
    if c.is_object() {
        let mut entries = Vec::new();
        while let Some(e) = it.next() {
            let (k, v) = e?;
            let v = build_leaf(&v, it)?;
            entries.push((k.unwrap_or_default().to_owned(), v));
        }
        // Stored order follows key hashes; everything a user sees has keys sorted (printed
        // output, jq's `keys_unsorted` and `to_entries` alike).
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(B::object(entries))
    } else {
        let mut items = Vec::new();
        while let Some(e) = it.next() {
            let (_, v) = e?;
            items.push(build_leaf(&v, it)?);
        }
        Ok(B::array(items))
    }
}

fn build_leaf<'a, B: Build>(v: &ValueRef<'a>, parent: &mut Iter<'a, '_>) -> Result<B, Lite3Error> {
    Ok(match v {
        ValueRef::Null => B::null(),
        ValueRef::Bool(b) => B::bool(*b),
        ValueRef::I64(n) => B::int(i128::from(*n)),
        ValueRef::F64(x) if x.is_finite() => B::float(*x),
        ValueRef::F64(_) => B::null(),
        ValueRef::Str(s) => B::string((*s).to_owned()),
        ValueRef::Bytes(b) => B::string(base64(b)),
        ValueRef::Object(c) | ValueRef::Array(c) => build_container(c, &mut parent.nested(c))?,
    })
}

impl Build for Value {
    fn null() -> Value {
        Value::Null
    }

    fn bool(b: bool) -> Value {
        Value::Bool(b)
    }

    fn int(n: i128) -> Value {
        // Built from an `i64` or a `u64`, so one of them holds it.
        i64::try_from(n).map_or_else(
            |_| Value::from(u64::try_from(n).unwrap_or(u64::MAX)),
            Value::from,
        )
    }

    fn float(x: f64) -> Value {
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }

    fn string(s: String) -> Value {
        Value::String(s)
    }

    fn object(entries: Vec<(String, Value)>) -> Value {
        Value::Object(entries.into_iter().collect())
    }

    fn array(items: Vec<Value>) -> Value {
        Value::Array(items)
    }
}

/// The message as a JSON value `{data, meta: {tags}, seq, time}` — built straight from the
/// Lite³ bytes (for jq filters and templates), with the same checks as [`print()`](super::print()).
pub fn to_value(msg: &Printed<'_>) -> Result<Value, Error> {
    build(msg).map_err(corrupt)
}
