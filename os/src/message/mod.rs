//! Messages as JSON: encoding `data` + tags into a Lite³ envelope, and printing a stored
//! message the way the reference's `fetch` prints it.
//!
//! Role: the bridge between serde_json and the core's Lite³ codec. Encoding inserts in the
//! reference's order (meta, tags, then `data` with object keys sorted bytewise, depth first) so
//! the payload is byte-identical; printing writes JSON straight from the Lite³ bytes through
//! serde_json's formatter — no intermediate `Value` — with keys sorted as the reference prints
//! them.
//!
//! # Invariants
//! - The walk that prints a payload checks the whole document as [`Doc::validate`](plasmite_core::lite3::read::Doc::validate) does (order,
//!   probe chains, counts, UTF-8), the members it does not print included, and is bounded by the
//!   payload's size through one node budget shared by nested containers; on any error nothing
//!   is left in the output. A front end that prints every message it reads can therefore take
//!   the query's damage check over (`PayloadCheck::Consumer`).
//! - Numbers map as the reference maps them: integers that fit i64 stay integers, larger ones and
//!   anything written with a fraction or exponent become f64 (`1.0` stays a float).
//! - Keys containing NUL are refused (the reference silently truncates them and loses data).
//!
//! Spec: `spec/LITE3.md` §6 (envelope), §7 (JSON mapping).

use crate::error::{Cause, Error, ErrorKind};
use plasmite_core::lite3::envelope;
use plasmite_core::lite3::write::{Key, Value as Lv, Writer};
use plasmite_core::lite3::{Lite3Error, Lite3ErrorKind};
use serde_json::{Map, Value};

mod build;
mod check;
mod json;
mod print;
mod scan;

pub use build::{Build, build, to_value};
pub use check::check;
pub use json::{JsonScratch, encode_json, encode_json_into, encode_json_printing, invalid_json};
pub use print::{
    Spans, base64, print, print_data, print_frame, print_seq_first, print_seq_first_parts,
    print_spans, to_json_string,
};

/// How deep `data` may nest, counting `data` itself (the envelope root and `data`'s parent
/// use one level; the format allows 32).
pub const DATA_NESTING_MAX: usize = 31;

/// Encodes `data` (which must be a JSON object) and `tags` into a Lite³ envelope of at most
/// `max_len` bytes.
pub fn encode(data: &Value, tags: &[&str], max_len: usize) -> Result<Vec<u8>, Error> {
    let Value::Object(map) = data else {
        return Err(Error::new(ErrorKind::Usage, "data must be object")
            .with_hint("Wrap the value in an object, e.g. {\"value\": …}."));
    };
    encode_with(tags, max_len, 0, |w, at| fill_object(w, at, map, 1))
}

/// Encodes an envelope whose `data` object `fill` writes into the container at the given
/// offset — for callers that have the members at hand rather than a [`Value`]. To give the
/// bytes [`encode`] gives for the same object, `fill` inserts the members in ascending
/// bytewise key order, as `encode` does. `size_hint` is the expected payload size (0: small).
pub fn encode_with(
    tags: &[&str],
    max_len: usize,
    size_hint: usize,
    fill: impl Fn(&mut Writer<'_>, u32) -> Result<(), Lite3Error>,
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    encode_with_into(&mut out, tags, max_len, size_hint, fill)?;
    // The attempt's room is not kept: messages are often held many at a time (a batch).
    out.shrink_to_fit();
    Ok(out)
}

/// [`encode_with`] appending the envelope to `out`; returns its length. On an error `out` is
/// left as it was.
pub fn encode_with_into(
    out: &mut Vec<u8>,
    tags: &[&str],
    max_len: usize,
    size_hint: usize,
    mut fill: impl FnMut(&mut Writer<'_>, u32) -> Result<(), Lite3Error>,
) -> Result<usize, Error> {
    // Start small and double: a failed attempt costs at most what the next one does, so the
    // total stays under twice the final encode (no size guess walks the document first).
    let start = out.len();
    let mut cap = FIRST_BUFFER
        .max(size_hint)
        .saturating_add(tags.iter().map(|t| t.len() + 8).sum::<usize>());
    loop {
        // The writer sets every byte it uses, so the room needs no clearing between attempts.
        out.resize(start + cap.min(max_len.max(96)), 0);
        match encode_into(&mut out[start..], tags, &mut fill) {
            Ok(len) => {
                out.truncate(start + len);
                return Ok(len);
            }
            Err(e) => {
                out.truncate(start);
                match e.kind {
                    Lite3ErrorKind::BufferTooSmall { needed } => {
                        let needed = usize::try_from(needed).unwrap_or(usize::MAX);
                        // `needed` is a lower bound of the final size.
                        if cap >= max_len || needed > max_len {
                            return Err(too_large(max_len));
                        }
                        cap = needed.max(cap.saturating_mul(2));
                    }
                    _ => return Err(encode_error(e)),
                }
            }
        }
    }
}

/// Encodes into `buf`; returns the used length. Not generic, so every caller of
/// [`encode_with`] shares one copy of the envelope code.
fn encode_into(
    buf: &mut [u8],
    tags: &[&str],
    fill: &mut dyn FnMut(&mut Writer<'_>, u32) -> Result<(), Lite3Error>,
) -> Result<usize, Lite3Error> {
    let (mut w, at) = envelope::begin(buf, tags.iter().copied())?;
    fill(&mut w, at)?;
    Ok(w.len() as usize)
}

fn too_large(max_len: usize) -> Error {
    Error::new(
        ErrorKind::Usage,
        format!("message exceeds the pool's maximum payload of {max_len} bytes"),
    )
    .with_hint("Send a smaller message, or create a larger pool.")
    .with_cause(Cause::MessageTooLarge {
        max: u64::try_from(max_len).unwrap_or(u64::MAX),
    })
}

fn encode_error(e: Lite3Error) -> Error {
    let hint = match e.kind {
        Lite3ErrorKind::KeyContainsNul => {
            "Remove the NUL (\\u0000) from the key; it would be cut short."
        }
        Lite3ErrorKind::NestingTooDeep => "Flatten the message: data may nest at most 31 levels.",
        Lite3ErrorKind::KeyTagCollision | Lite3ErrorKind::TooManyCollisions => {
            "Rename one of the colliding keys (their hashes clash in the payload encoding)."
        }
        _ => "Make the message smaller or simpler.",
    };
    let what = match e.kind {
        Lite3ErrorKind::NestingTooDeep => {
            format!("data nests deeper than {DATA_NESTING_MAX} levels")
        }
        Lite3ErrorKind::TreeTooTall => {
            "an object or array in data has too many entries for the payload format".to_owned()
        }
        other => other.to_string(),
    };
    Error::new(ErrorKind::Usage, format!("cannot encode message: {what}")).with_hint(hint)
}

fn fill_object(
    w: &mut Writer<'_>,
    at: u32,
    map: &Map<String, Value>,
    level: usize,
) -> Result<(), Lite3Error> {
    // Keys go in sorted bytewise. serde_json's default map already iterates that way; with
    // `preserve_order` it keeps insertion order, and then the entries are sorted first.
    let sorted = map
        .keys()
        .zip(map.keys().skip(1))
        .all(|(a, b)| a.as_bytes() < b.as_bytes());
    if sorted {
        for (k, v) in map {
            insert(w, at, Key::Name(k), v, level)?;
        }
        return Ok(());
    }
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for (k, v) in entries {
        insert(w, at, Key::Name(k), v, level)?;
    }
    Ok(())
}

fn insert(
    w: &mut Writer<'_>,
    at: u32,
    key: Key<'_>,
    v: &Value,
    level: usize,
) -> Result<(), Lite3Error> {
    let value = match v {
        Value::Null => Lv::Null,
        Value::Bool(b) => Lv::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Lv::I64(i),
            // Above i64::MAX: the reference stores (double)u, rounded to nearest.
            #[allow(clippy::cast_precision_loss)]
            (None, Some(u), _) => Lv::F64(u as f64),
            (_, _, Some(f)) => Lv::F64(f),
            _ => Lv::Null,
        },
        Value::String(s) => Lv::Str(s),
        Value::Array(items) => {
            let inner = nested(w, at, key, Lv::Array, level)?;
            for item in items {
                insert(w, inner, Key::Append, item, level + 1)?;
            }
            return Ok(());
        }
        Value::Object(map) => {
            let inner = nested(w, at, key, Lv::Object, level)?;
            return fill_object(w, inner, map, level + 1);
        }
    };
    w.insert(at, key, value).map(|_| ())
}

pub(super) fn nested(
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

/// The first buffer an encode tries: room for a typical small message.
const FIRST_BUFFER: usize = 1024;

/// A message as the reference's `fetch` prints it.
#[derive(Clone, Copy, Debug)]
pub struct Printed<'a> {
    /// The message sequence.
    pub seq: u64,
    /// Append time, Unix nanoseconds.
    pub timestamp_ns: u64,
    /// The Lite³ payload.
    pub payload: &'a [u8],
}

/// Output style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// One line, no spaces (what scripts read).
    Compact,
    /// Two-space indented (what people read).
    Pretty,
}

/// A payload that does not decode, as the error every reader of messages reports (the caller
/// adds where the message is).
pub fn corrupt(e: Lite3Error) -> Error {
    Error::new(ErrorKind::Corrupt, format!("corrupt payload: {e}"))
        .with_hint("The message payload is damaged; check the pool with validation tooling.")
        .with_cause(Cause::DamagedPayload)
}

/// RFC 3339 in UTC, as messages print their time (kept here for callers of
/// `message::rfc3339`; [`crate::time`] owns it).
pub use crate::time::rfc3339;
