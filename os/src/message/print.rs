//! Printing a stored message as JSON straight from its Lite³ bytes, keys sorted as the
//! reference prints them; the walk that prints is also the payload's full check (the walk's
//! checking half is in `check`).
//!
//! Spec: `spec/LITE3.md` §7 (JSON mapping).

use super::check::{check_container, find_envelope};
use super::{Printed, Style, corrupt};
use crate::error::{Error, ErrorKind};
use crate::time::write_rfc3339;
use plasmite_core::lite3::envelope::Envelope;
use plasmite_core::lite3::read::{Container, Doc, Iter, ValueRef};
use plasmite_core::lite3::{Lite3Error, Lite3ErrorKind};
use plasmite_core::{FrameRef, PoolView};
use serde_json::ser::{CharEscape, CompactFormatter, Formatter, PrettyFormatter};
use std::io;
use std::ops::Range;

/// Appends `{"data":…,"meta":{"tags":[…]},"seq":…,"time":"…"}` for a stored message to `out`.
/// A damaged payload is a Corrupt error (the caller adds the frame's offset) and leaves `out` as
/// it was.
///
/// One pass: the walk that prints also checks every node, key and value of the payload —
/// printed or not — as [`Doc::validate`] does (order, probe chains, counts, UTF-8), and is
/// bounded by the payload's size.
pub fn print(out: &mut Vec<u8>, msg: &Printed<'_>, style: Style) -> Result<(), Error> {
    print_part(out, msg, style, Part::Sorted).map(drop)
}

/// Where the parts of an envelope [`print_spans`] printed lie in `out`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spans {
    /// The whole envelope.
    pub envelope: Range<usize>,
    /// The `data` value.
    pub data: Range<usize>,
    /// The `meta` value, `{"tags":[…]}`.
    pub meta: Range<usize>,
    /// The time's text, without its quotes.
    pub time: Range<usize>,
}

/// [`print()`] in the compact style, also telling where the envelope's parts lie — for a reader
/// that takes the data, tags and time apart without parsing the envelope again.
pub fn print_spans(out: &mut Vec<u8>, msg: &Printed<'_>) -> Result<Spans, Error> {
    let start = out.len();
    let data_end = print_part(out, msg, Style::Compact, Part::Sorted)?;
    let end = out.len();
    // `{"data":` D `,"meta":` M `,"seq":` N `,"time":"` T `"}`: T holds no quote.
    let time_end = end - 2;
    let time_start = out[..time_end]
        .iter()
        .rposition(|&b| b == b'"')
        .map_or(time_end, |q| q + 1);
    let seq_digits = msg.seq.checked_ilog10().unwrap_or(0) as usize + 1;
    let meta_end = time_start - r#","time":""#.len() - seq_digits - r#","seq":"#.len();
    Ok(Spans {
        envelope: start..end,
        data: start + r#"{"data":"#.len()..data_end,
        meta: data_end + r#","meta":"#.len()..meta_end,
        time: time_start..time_end,
    })
}

/// Appends only the message's `data` object (what `follow --data-only` prints), with the same
/// checks and error behaviour as [`print()`].
pub fn print_data(out: &mut Vec<u8>, msg: &Printed<'_>, style: Style) -> Result<(), Error> {
    print_part(out, msg, style, Part::Data).map(drop)
}

/// Appends `{"seq":…,"time":"…","meta":{"tags":[…]},"data":…}` (compact): the envelope in the
/// member order of the C ABI and the bindings built on it, with the same checks and error
/// behaviour as [`print()`].
pub fn print_seq_first(out: &mut Vec<u8>, msg: &Printed<'_>) -> Result<(), Error> {
    print_part(out, msg, Style::Compact, Part::SeqFirst).map(drop)
}

/// Appends the envelope [`print_seq_first`] prints, from its parts: `{"seq":…,"time":"…",
/// "meta":{"tags":[…]},"data":` + `data` + `}` — `data` being the message's data as printed
/// (compact). For an append that printed its data while encoding it.
pub fn print_seq_first_parts(
    out: &mut Vec<u8>,
    seq: u64,
    timestamp_ns: u64,
    tags: &[&str],
    data: &[u8],
) {
    let f = &mut CompactFormatter;
    let msg = Printed {
        seq,
        timestamp_ns,
        payload: &[],
    };
    let printed = (|| -> Result<(), Fail> {
        write_seq_time(out, f, &msg, true)?;
        key(out, f, "meta", false)?;
        write_tags(out, f, tags.iter().map(|t| Ok::<&str, Fail>(t)), true)?;
        f.end_object_value(out)?;
        key(out, f, "data", false)?;
        out.extend_from_slice(data);
        f.end_object_value(out)?;
        f.end_object(out)?;
        Ok(())
    })();
    // Writing to a Vec cannot fail.
    debug_assert!(printed.is_ok());
}

/// `s` as a JSON string, escaped as every printed message escapes it.
pub(super) fn json_string(out: &mut Vec<u8>, s: &str) {
    // Writing to a Vec cannot fail.
    let _ = string(out, &mut CompactFormatter, s);
}

/// A number as every printed message prints it.
pub(super) fn json_i64(out: &mut Vec<u8>, n: i64) {
    let _ = CompactFormatter.write_i64(out, n);
}

/// A float as every printed message prints it (`null` when not finite).
pub(super) fn json_f64(out: &mut Vec<u8>, x: f64) {
    let _ = if x.is_finite() {
        CompactFormatter.write_f64(out, x)
    } else {
        CompactFormatter.write_null(out)
    };
}

/// What of a message is printed, and in which member order.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The envelope, members sorted: `data`, `meta`, `seq`, `time`.
    Sorted,
    /// The envelope as `seq`, `time`, `meta`, `data`.
    SeqFirst,
    /// `data` alone.
    Data,
}

/// Prints `part` of the message; `Ok` holds where its `data` ends in `out`.
fn print_part(
    out: &mut Vec<u8>,
    msg: &Printed<'_>,
    style: Style,
    part: Part,
) -> Result<usize, Error> {
    let start = out.len();
    let result = match style {
        Style::Compact => render(out, &mut CompactFormatter, msg, part),
        Style::Pretty => render(out, &mut PrettyFormatter::new(), msg, part),
    };
    result.map_err(|e| {
        out.truncate(start);
        match e {
            Fail::Io(e) => {
                Error::new(ErrorKind::Io, format!("failed to write message: {e}")).with_source(e)
            }
            Fail::Doc(e) => corrupt(e),
        }
    })
}

/// Prints the message stored in `frame` (found through `view`): copies the payload out, checks
/// its CRC when the frame has one, and prints it. A damaged payload is Corrupt with the frame's
/// ring offset and sequence.
pub fn print_frame<V: PoolView + ?Sized>(
    out: &mut Vec<u8>,
    view: &V,
    frame: &FrameRef,
    style: Style,
) -> Result<(), Error> {
    let mut payload = vec![0u8; frame.head.payload_len as usize];
    frame
        .read_payload(view, &mut payload)
        .map_err(|c| Error::from(c).with_seq(frame.seq()))?;
    let msg = Printed {
        seq: frame.seq(),
        timestamp_ns: frame.head.timestamp_ns,
        payload: &payload,
    };
    print(out, &msg, style).map_err(|e| match e.kind() {
        ErrorKind::Corrupt => e.with_offset(frame.offset).with_seq(frame.seq()),
        _ => e,
    })
}

/// The message JSON as a string (compact).
pub fn to_json_string(msg: &Printed<'_>) -> Result<String, Error> {
    let mut out = Vec::with_capacity(msg.payload.len());
    print(&mut out, msg, Style::Compact)?;
    String::from_utf8(out).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))
}

enum Fail {
    Io(io::Error),
    Doc(Lite3Error),
}

impl From<io::Error> for Fail {
    fn from(e: io::Error) -> Fail {
        Fail::Io(e)
    }
}

impl From<Lite3Error> for Fail {
    fn from(e: Lite3Error) -> Fail {
        Fail::Doc(e)
    }
}

/// Entries of the objects being printed, sorted per object (one buffer for the whole message).
type Scratch<'a> = Vec<(&'a str, ValueRef<'a>)>;

fn render<F: Formatter>(
    out: &mut Vec<u8>,
    f: &mut F,
    msg: &Printed<'_>,
    part: Part,
) -> Result<usize, Fail> {
    let doc = Doc::new(msg.payload)?;
    let root = doc.root();
    if !root.is_object() {
        return Err(Fail::Doc(Lite3Error {
            kind: Lite3ErrorKind::NotAContainer,
            offset: 0,
        }));
    }
    // One walk of the whole document, as `Doc::validate` makes it: the root and `meta` first,
    // checking what is not printed, then `data` and the tags as they print — so a payload
    // damaged anywhere fails here (the query may leave its damage check to the printer).
    let mut budget = doc.node_budget();
    let mut walk = root.iter_budgeted(&mut budget);
    let Some(found) = find_envelope(&mut walk)? else {
        return render_looked_up(out, f, msg, part);
    };
    let mut scratch = Scratch::new();
    before_data(out, f, msg, part, |out, f, print| {
        write_tags(
            out,
            f,
            walked_tags(&found.tags, walk.nested(&found.tags)),
            print,
        )
    })?;
    write_container(
        out,
        f,
        &found.data,
        &mut walk.nested(&found.data),
        &mut scratch,
    )?;
    let data_end = out.len();
    // Every tag must be a string, also when the tags are not printed.
    after_data(out, f, msg, part, |out, f, print| {
        write_tags(
            out,
            f,
            walked_tags(&found.tags, walk.nested(&found.tags)),
            print,
        )
    })?;
    Ok(data_end)
}

/// What a message prints before its `data`: `{"data":` (sorted), `{"seq":…,"time":"…",
/// "meta":{"tags":[…]},"data":` (seq first), nothing (data only). `tags` writes the tags
/// object, or only checks the tags when its flag is false.
fn before_data<F: Formatter>(
    out: &mut Vec<u8>,
    f: &mut F,
    msg: &Printed<'_>,
    part: Part,
    tags: impl FnOnce(&mut Vec<u8>, &mut F, bool) -> Result<(), Fail>,
) -> Result<(), Fail> {
    match part {
        Part::Sorted => {
            f.begin_object(out)?;
            key(out, f, "data", true)
        }
        Part::SeqFirst => {
            write_seq_time(out, f, msg, true)?;
            key(out, f, "meta", false)?;
            tags(out, f, true)?;
            f.end_object_value(out)?;
            key(out, f, "data", false)
        }
        Part::Data => Ok(()),
    }
}

/// What a message prints after its `data` (see [`before_data`]); data only checks the tags.
fn after_data<F: Formatter>(
    out: &mut Vec<u8>,
    f: &mut F,
    msg: &Printed<'_>,
    part: Part,
    tags: impl FnOnce(&mut Vec<u8>, &mut F, bool) -> Result<(), Fail>,
) -> Result<(), Fail> {
    match part {
        Part::Sorted => {
            f.end_object_value(out)?;
            key(out, f, "meta", false)?;
            tags(out, f, true)?;
            f.end_object_value(out)?;
            write_seq_time(out, f, msg, false)?;
            f.end_object(out)?;
        }
        Part::SeqFirst => {
            f.end_object_value(out)?;
            f.end_object(out)?;
        }
        Part::Data => tags(out, f, false)?,
    }
    Ok(())
}

/// `{"tags":[…]}` from `tags` (each checked), or only the check when `print` is false.
fn write_tags<'t, F: Formatter>(
    out: &mut Vec<u8>,
    f: &mut F,
    tags: impl Iterator<Item = Result<&'t str, Fail>>,
    print: bool,
) -> Result<(), Fail> {
    if print {
        f.begin_object(out)?;
        key(out, f, "tags", true)?;
        f.begin_array(out)?;
    }
    for (i, tag) in tags.enumerate() {
        let tag = tag?;
        if print {
            f.begin_array_value(out, i == 0)?;
            string(out, f, tag)?;
            f.end_array_value(out)?;
        }
    }
    if print {
        f.end_array(out)?;
        f.end_object_value(out)?;
        f.end_object(out)?;
    }
    Ok(())
}

/// The entries of the tags array at `tags`, walked by `it`: each must be a string.
fn walked_tags<'a, 'i>(
    tags: &Container<'a>,
    it: Iter<'a, 'i>,
) -> impl Iterator<Item = Result<&'a str, Fail>> + use<'a, 'i> {
    let offset = tags.offset();
    it.map(move |e| match e? {
        (_, ValueRef::Str(tag)) => Ok(tag),
        _ => Err(Fail::Doc(Lite3Error {
            kind: Lite3ErrorKind::BadType,
            offset,
        })),
    })
}

/// `"seq":…,"time":"…"` as an object's first members (`first`: opening the object) or as
/// later ones.
fn write_seq_time<F: Formatter>(
    out: &mut Vec<u8>,
    f: &mut F,
    msg: &Printed<'_>,
    first: bool,
) -> Result<(), Fail> {
    if first {
        f.begin_object(out)?;
    }
    key(out, f, "seq", first)?;
    f.write_u64(out, msg.seq)?;
    f.end_object_value(out)?;
    key(out, f, "time", false)?;
    f.begin_string(out)?;
    write_rfc3339(out, msg.timestamp_ns);
    f.end_string(out)?;
    f.end_object_value(out)?;
    Ok(())
}

/// [`render`] for a payload whose envelope keys also sit off their first probe: `data` and the
/// tags are the entries [`Envelope::parse`]'s lookups pick; the root walk prints `data` where
/// it meets it and checks every other member.
fn render_looked_up<F: Formatter>(
    out: &mut Vec<u8>,
    f: &mut F,
    msg: &Printed<'_>,
    part: Part,
) -> Result<usize, Fail> {
    let doc = Doc::new(msg.payload)?;
    let env = Envelope::parse(msg.payload)?;
    let mut budget = doc.node_budget();
    let mut scratch = Scratch::new();
    // The lookups have parsed the tags; data only does not walk them again.
    let tags = |out: &mut Vec<u8>, f: &mut F, print: bool| {
        if !print {
            return Ok(());
        }
        write_tags(out, f, env.tags().map(|t| t.map_err(Fail::from)), true)
    };
    before_data(out, f, msg, part, tags)?;
    let mut root = doc.root().iter_budgeted(&mut budget);
    let mut printed = false;
    let mut data_end = out.len();
    while let Some(e) = root.next() {
        let (_, v) = e?;
        let (ValueRef::Object(c) | ValueRef::Array(c)) = v else {
            continue;
        };
        if !printed && c == env.data {
            printed = true;
            write_container(out, f, &c, &mut root.nested(&c), &mut scratch)?;
            data_end = out.len();
        } else {
            check_container(&mut root.nested(&c))?;
        }
    }
    if !printed {
        return Err(Fail::Doc(Lite3Error {
            kind: Lite3ErrorKind::BadIndex,
            offset: env.data.offset(),
        }));
    }
    after_data(out, f, msg, part, tags)?;
    Ok(data_end)
}

fn key<F: Formatter>(out: &mut Vec<u8>, f: &mut F, k: &str, first: bool) -> Result<(), Fail> {
    f.begin_object_key(out, first)?;
    string(out, f, k)?;
    f.end_object_key(out)?;
    f.begin_object_value(out)?;
    Ok(())
}

/// A JSON string with serde_json's escaping: `"`, `\\` and control characters only (the short
/// forms where JSON has them), everything else verbatim.
fn string<F: Formatter>(out: &mut Vec<u8>, f: &mut F, s: &str) -> Result<(), Fail> {
    let bytes = s.as_bytes();
    let needs_escape = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
    // Most strings need no escape at all: quote, one copy, quote (both formatters print
    // strings this way).
    let Some(first) = bytes.iter().position(|&b| needs_escape(b)) else {
        out.reserve(bytes.len().saturating_add(2));
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return Ok(());
    };
    f.begin_string(out)?;
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate().skip(first) {
        let escape = match b {
            b'"' => CharEscape::Quote,
            b'\\' => CharEscape::ReverseSolidus,
            0x08 => CharEscape::Backspace,
            0x0c => CharEscape::FormFeed,
            b'\n' => CharEscape::LineFeed,
            b'\r' => CharEscape::CarriageReturn,
            b'\t' => CharEscape::Tab,
            0x00..=0x1f => CharEscape::AsciiControl(b),
            _ => continue,
        };
        if start < i {
            f.write_string_fragment(out, &s[start..i])?;
        }
        f.write_char_escape(out, escape)?;
        start = i + 1;
    }
    if start < bytes.len() {
        f.write_string_fragment(out, &s[start..])?;
    }
    f.end_string(out)?;
    Ok(())
}

/// Prints the container `c`, walking it with `it`: objects with their keys sorted bytewise (as
/// the reference prints them), arrays in order.
fn write_container<'a, F: Formatter>(
    out: &mut Vec<u8>,
    f: &mut F,
    c: &Container<'a>,
    it: &mut Iter<'a, '_>,
    scratch: &mut Scratch<'a>,
) -> Result<(), Fail> {
    if c.is_object() {
        // Objects of up to 8 keys sort on the stack; larger ones in the shared scratch buffer.
        let mut small = [("", ValueRef::Null); 8];
        let mut n = 0;
        let start = scratch.len();
        for e in &mut *it {
            let (k, v) = e?;
            let entry = (k.unwrap_or_default(), v);
            match small.get_mut(n) {
                Some(slot) if scratch.len() == start => *slot = entry,
                _ => {
                    if scratch.len() == start {
                        scratch.extend_from_slice(&small[..n]);
                    }
                    scratch.push(entry);
                }
            }
            n += 1;
        }
        let spilled = scratch.len() > start;
        let entries: &mut [(&str, ValueRef<'a>)] = if spilled {
            &mut scratch[start..]
        } else {
            &mut small[..n]
        };
        entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        f.begin_object(out)?;
        for i in 0..n {
            let (k, v) = if spilled {
                scratch[start + i]
            } else {
                small[i]
            };
            key(out, f, k, i == 0)?;
            write_value(out, f, &v, it, scratch)?;
            f.end_object_value(out)?;
        }
        f.end_object(out)?;
        scratch.truncate(start);
    } else {
        f.begin_array(out)?;
        let mut first = true;
        while let Some(e) = it.next() {
            let (_, v) = e?;
            f.begin_array_value(out, first)?;
            first = false;
            write_value(out, f, &v, it, scratch)?;
            f.end_array_value(out)?;
        }
        f.end_array(out)?;
    }
    Ok(())
}

fn write_value<'a, F: Formatter>(
    out: &mut Vec<u8>,
    f: &mut F,
    v: &ValueRef<'a>,
    parent: &mut Iter<'a, '_>,
    scratch: &mut Scratch<'a>,
) -> Result<(), Fail> {
    match v {
        ValueRef::Null => f.write_null(out)?,
        ValueRef::Bool(b) => f.write_bool(out, *b)?,
        ValueRef::I64(n) => f.write_i64(out, *n)?,
        // Non-finite floats have no JSON form (the reference refuses to print them).
        ValueRef::F64(x) if !x.is_finite() => f.write_null(out)?,
        ValueRef::F64(x) => f.write_f64(out, *x)?,
        ValueRef::Str(s) => string(out, f, s)?,
        ValueRef::Bytes(b) => string(out, f, &base64(b))?,
        ValueRef::Object(c) | ValueRef::Array(c) => {
            write_container(out, f, c, &mut parent.nested(c), scratch)?
        }
    }
    Ok(())
}

/// Standard base64 with padding (how the reference prints a bytes value).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                s.push('=');
            }
        }
    }
    s
}
