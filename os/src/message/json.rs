//! JSON text straight to a Lite³ envelope, without building a `serde_json::Value` first.
//!
//! Role: the path of every append that starts from one JSON document as text (the C ABI, the
//! language bindings, bulk JSON Lines). The text is scanned once (`super::scan`) into a flat
//! arena of tokens that borrow from it (strings without escapes are not copied), then each
//! object's members are inserted in ascending bytewise key order, as
//! [`encode`](super::encode) inserts a `Value`'s — so both paths give the same bytes.
//!
//! # Invariants
//! - Accepts exactly what `serde_json::from_str` accepts: the scanner takes only the grammar it
//!   checks completely; anything else (a syntax error, a lone surrogate, a root that is not an
//!   object, nesting past the payload limit) goes to serde_json and `encode`, whose verdict and
//!   message stand.
//! - Same bytes as `encode(&serde_json::from_str(text)?, …)` for every accepted text: numbers
//!   that are not short plain integers are converted by serde_json itself; duplicate keys keep
//!   the last value, as serde_json's map does.
//! - Bounded: nesting deeper than the payload allows is never scanned (the fallback refuses
//!   it), so the scanner's recursion depth is at most [`DATA_NESTING_MAX`] + 1.
//!
//! Spec: `spec/LITE3.md` §7 (JSON mapping).

use super::scan::{Node, Scanner, Tok};
use super::{encode, encode_with_into, nested};
use crate::error::{Cause, Error, ErrorKind};
use plasmite_core::lite3::Lite3Error;
use plasmite_core::lite3::write::{Key, Value as Lv, Writer};

/// Encodes one JSON document (an object: the message's `data`) and `tags` into a Lite³
/// envelope of at most `max_len` bytes.
///
/// Invalid JSON is a Usage error with [`Cause::InvalidJson`]; the other errors are
/// [`encode`]'s.
pub fn encode_json(text: &str, tags: &[&str], max_len: usize) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    encode_json_into(&mut out, text, tags, max_len)?;
    Ok(out)
}

/// [`encode_json`] appending the envelope to `out` (a batch's arena); returns its length. On
/// an error `out` is left as it was.
pub fn encode_json_into(
    out: &mut Vec<u8>,
    text: &str,
    tags: &[&str],
    max_len: usize,
) -> Result<usize, Error> {
    let mut arena = Vec::with_capacity(16);
    if Scanner::new(text, &mut arena).document().is_none() {
        return slow(out, text, tags, max_len);
    }
    let hint = text.len().saturating_mul(2);
    encode_with_into(out, tags, max_len, hint, |w, at| {
        fill_object(w, at, &arena, 0, 1, &mut Vec::new(), &mut NoPrint)
    })
}

/// Buffers [`encode_json_printing`] reuses from one document to the next, so that encoding a
/// message allocates nothing once they have grown to the documents' size.
#[derive(Debug, Default)]
pub struct JsonScratch {
    nodes: Vec<Node<'static>>,
    order: Vec<u32>,
}

/// `v` emptied and retyped for another text's lifetime, keeping its allocation (the standard
/// library collects a mapped `IntoIter` into the same buffer when the types' layouts match).
#[expect(
    clippy::unnecessary_filter_map,
    reason = "the map changes the lifetime, which `filter` cannot"
)]
fn recycle<'b>(mut v: Vec<Node<'_>>) -> Vec<Node<'b>> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

/// [`encode_json_into`] that also appends the message's `data` to `data_out`, printed
/// exactly as [`print_seq_first`](super::print_seq_first) prints it from the stored payload —
/// but from the scanned text, without reading the payload back. With the stored seq and time,
/// [`print_seq_first_parts`](super::print_seq_first_parts) then makes the envelope. On an
/// error both buffers are left as they were. `scratch` is working space kept by the caller.
pub fn encode_json_printing(
    scratch: &mut JsonScratch,
    out: &mut Vec<u8>,
    text: &str,
    tags: &[&str],
    max_len: usize,
    data_out: &mut Vec<u8>,
) -> Result<usize, Error> {
    let mut arena = recycle(std::mem::take(&mut scratch.nodes));
    let result = encode_scanned(
        &mut arena,
        &mut scratch.order,
        out,
        text,
        tags,
        max_len,
        data_out,
    );
    scratch.nodes = recycle(arena);
    result
}

/// [`encode_json_printing`] with its working space.
fn encode_scanned<'a>(
    arena: &mut Vec<Node<'a>>,
    order: &mut Vec<u32>,
    out: &mut Vec<u8>,
    text: &'a str,
    tags: &[&str],
    max_len: usize,
    data_out: &mut Vec<u8>,
) -> Result<usize, Error> {
    if Scanner::new(text, arena).document().is_none() {
        let start = out.len();
        let n = slow(out, text, tags, max_len)?;
        let printed = super::Printed {
            seq: 0,
            timestamp_ns: 0,
            payload: &out[start..],
        };
        return match super::print_data(data_out, &printed, super::Style::Compact) {
            Ok(()) => Ok(n),
            Err(e) => {
                out.truncate(start);
                Err(e)
            }
        };
    }
    let hint = text.len().saturating_mul(2);
    let start = data_out.len();
    let mut print = Printing(data_out);
    let n = encode_with_into(out, tags, max_len, hint, |w, at| {
        // A retry with a larger buffer prints the data again, from the start.
        order.clear();
        print.0.truncate(start);
        fill_object(w, at, arena, 0, 1, order, &mut print)
    });
    if n.is_err() {
        data_out.truncate(start);
    }
    n
}

/// Where [`fill_object`] prints the data it encodes, if anywhere: as the printer prints the
/// stored value — members in the order they are inserted (the printer's sorted order), the
/// last of equal keys only.
trait DataSink {
    fn raw(&mut self, bytes: &[u8]);
    fn key(&mut self, key: &str);
    fn scalar(&mut self, tok: &Tok<'_>);
}

/// Encoding only.
struct NoPrint;

impl DataSink for NoPrint {
    fn raw(&mut self, _: &[u8]) {}
    fn key(&mut self, _: &str) {}
    fn scalar(&mut self, _: &Tok<'_>) {}
}

/// Printing into the buffer.
struct Printing<'o>(&'o mut Vec<u8>);

impl DataSink for Printing<'_> {
    fn raw(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    fn key(&mut self, key: &str) {
        super::print::json_string(self.0, key);
        self.0.push(b':');
    }

    fn scalar(&mut self, tok: &Tok<'_>) {
        use super::print::{json_f64, json_i64, json_string};
        let out = &mut *self.0;
        match tok {
            Tok::Null => out.extend_from_slice(b"null"),
            Tok::Bool(true) => out.extend_from_slice(b"true"),
            Tok::Bool(false) => out.extend_from_slice(b"false"),
            Tok::I64(n) => json_i64(out, *n),
            Tok::F64(x) => json_f64(out, *x),
            Tok::Str(s) => json_string(out, s),
            Tok::Object { .. } | Tok::Array { .. } => {}
        }
    }
}

/// The fallback: serde_json parses (and words any syntax error), `encode` encodes.
fn slow(out: &mut Vec<u8>, text: &str, tags: &[&str], max_len: usize) -> Result<usize, Error> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(invalid_json)?;
    let bytes = encode(&value, tags, max_len)?;
    out.extend_from_slice(&bytes);
    Ok(bytes.len())
}

/// A JSON syntax error as the engine reports it.
pub fn invalid_json(e: serde_json::Error) -> Error {
    Error::new(ErrorKind::Usage, format!("invalid JSON: {e}"))
        .with_hint("Send one JSON object, e.g. {\"msg\": \"hi\"}.")
        .with_cause(Cause::InvalidJson)
}

/// The members of the object node `at_node`, inserted into the container at `at` in ascending
/// bytewise key order, the last of equal keys winning. `order` is scratch shared by the walk.
fn fill_object<P: DataSink>(
    w: &mut Writer<'_>,
    at: u32,
    nodes: &[Node<'_>],
    at_node: usize,
    level: usize,
    order: &mut Vec<u32>,
    print: &mut P,
) -> Result<(), Lite3Error> {
    if !matches!(nodes.get(at_node).map(|n| &n.tok), Some(Tok::Object { .. })) {
        return Ok(());
    }
    let base = sorted_members(nodes, at_node, order);
    print.raw(b"{");
    for k in base..order.len() {
        let idx = order[k] as usize;
        if k > base {
            print.raw(b",");
        }
        print.key(&nodes[idx].key);
        insert(
            w,
            at,
            Key::Name(&nodes[idx].key),
            nodes,
            idx,
            level,
            order,
            print,
        )?;
    }
    print.raw(b"}");
    order.truncate(base);
    Ok(())
}

/// Pushes the members of the object node `at_node` onto `order` in ascending bytewise key
/// order, keeping only the last of equal keys (as serde_json's map does); returns where they
/// start. The caller truncates `order` back to that when done.
fn sorted_members(nodes: &[Node<'_>], at_node: usize, order: &mut Vec<u32>) -> usize {
    let base = order.len();
    let Some(Tok::Object { end }) = nodes.get(at_node).map(|n| &n.tok) else {
        return base;
    };
    let mut i = at_node + 1;
    while i < *end as usize {
        order.push(i as u32);
        i = next_sibling(nodes, i);
    }
    let key = |i: u32| nodes[i as usize].key.as_bytes();
    let members = &mut order[base..];
    if !members.windows(2).all(|p| key(p[0]) < key(p[1])) {
        // Stable: equal keys stay in text order, so the last of a run is the last written.
        members.sort_by(|a, b| key(*a).cmp(key(*b)));
        let mut kept = base;
        for k in base..order.len() {
            let last_of_run = order.get(k + 1).is_none_or(|&n| key(n) != key(order[k]));
            if last_of_run {
                order[kept] = order[k];
                kept += 1;
            }
        }
        order.truncate(kept);
    }
    base
}

#[expect(clippy::too_many_arguments, reason = "one recursive walk's state")]
fn insert<P: DataSink>(
    w: &mut Writer<'_>,
    at: u32,
    key: Key<'_>,
    nodes: &[Node<'_>],
    idx: usize,
    level: usize,
    order: &mut Vec<u32>,
    print: &mut P,
) -> Result<(), Lite3Error> {
    let tok = &nodes[idx].tok;
    print.scalar(tok);
    let value = match tok {
        Tok::Null => Lv::Null,
        Tok::Bool(b) => Lv::Bool(*b),
        Tok::I64(n) => Lv::I64(*n),
        Tok::F64(x) => Lv::F64(*x),
        Tok::Str(s) => Lv::Str(s),
        Tok::Object { .. } => {
            let inner = nested(w, at, key, Lv::Object, level)?;
            return fill_object(w, inner, nodes, idx, level + 1, order, print);
        }
        Tok::Array { end } => {
            let inner = nested(w, at, key, Lv::Array, level)?;
            print.raw(b"[");
            let mut i = idx + 1;
            while i < *end as usize {
                if i > idx + 1 {
                    print.raw(b",");
                }
                insert(w, inner, Key::Append, nodes, i, level + 1, order, print)?;
                i = next_sibling(nodes, i);
            }
            print.raw(b"]");
            return Ok(());
        }
    };
    w.insert(at, key, value).map(|_| ())
}

/// The index of the node after `i`'s subtree.
fn next_sibling(nodes: &[Node<'_>], i: usize) -> usize {
    match nodes[i].tok {
        Tok::Object { end } | Tok::Array { end } => end as usize,
        _ => i + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_keeps_its_allocation_from_one_document_to_the_next() {
        let mut scratch = JsonScratch::default();
        let (mut out, mut data) = (Vec::new(), Vec::new());
        let text = r#"{"b":[1,2,{"c":null}],"a":"x","d":{"e":true}}"#;
        encode_json_printing(&mut scratch, &mut out, text, &[], 1 << 20, &mut data).unwrap();
        let (ptr, cap) = (scratch.nodes.as_ptr(), scratch.nodes.capacity());
        assert!(cap >= 8, "the nodes of the document were kept: {cap}");
        for _ in 0..3 {
            out.clear();
            data.clear();
            encode_json_printing(&mut scratch, &mut out, text, &[], 1 << 20, &mut data).unwrap();
            assert_eq!(
                (scratch.nodes.as_ptr(), scratch.nodes.capacity()),
                (ptr, cap)
            );
        }
        assert_eq!(data, br#"{"a":"x","b":[1,2,{"c":null}],"d":{"e":true}}"#);
    }
}
