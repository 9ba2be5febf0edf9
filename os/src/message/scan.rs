//! The JSON scanner of the text-to-Lite³ path: one pass over a document into a flat arena of
//! tokens that borrow from the text (strings without escapes are not copied).
//!
//! Role: [`super::json`] encodes and prints from the arena; whatever the scanner does not take
//! (any syntax error, a lone surrogate, a number it cannot read exactly) it leaves to
//! serde_json by returning `None`.
//!
//! # Invariants
//! - Takes only the grammar it checks completely; `Some` means the arena holds the document
//!   exactly as `serde_json::from_str` reads it (numbers that are not short plain integers are
//!   converted by serde_json itself).
//! - Bounded: nesting deeper than [`DATA_NESTING_MAX`] is never scanned, so the recursion depth
//!   is at most `DATA_NESTING_MAX` + 1.
//!
//! Spec: `spec/LITE3.md` §7 (JSON mapping).

use super::DATA_NESTING_MAX;
use std::borrow::Cow;

/// One scanned value and the key it was found under (empty in arrays and at the root).
#[derive(Debug)]
pub(super) struct Node<'a> {
    pub(super) key: Cow<'a, str>,
    pub(super) tok: Tok<'a>,
}

#[derive(Debug)]
pub(super) enum Tok<'a> {
    Null,
    Bool(bool),
    I64(i64),
    F64(f64),
    Str(Cow<'a, str>),
    /// An object; its members are the nodes up to (not including) index `end`.
    Object {
        end: u32,
    },
    /// An array; its elements are the nodes up to index `end`.
    Array {
        end: u32,
    },
}

/// A scanner over the whole text; every method returns `None` for "let serde_json decide".
pub(super) struct Scanner<'a, 'n> {
    text: &'a str,
    at: usize,
    nodes: &'n mut Vec<Node<'a>>,
}

impl<'a, 'n> Scanner<'a, 'n> {
    pub(super) fn new(text: &'a str, nodes: &'n mut Vec<Node<'a>>) -> Self {
        Scanner { text, at: 0, nodes }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// The whole text: one object, then only whitespace.
    pub(super) fn document(&mut self) -> Option<()> {
        self.skip_ws();
        if self.peek() != Some(b'{') {
            return None;
        }
        self.value(Cow::Borrowed(""), 0)?;
        self.skip_ws();
        (self.at == self.text.len()).then_some(())
    }

    /// A value at `depth` (the root object is depth 0), pushed with its `key`.
    fn value(&mut self, key: Cow<'a, str>, depth: usize) -> Option<()> {
        let tok = match self.peek()? {
            b'{' | b'[' => return self.container(key, depth),
            b'"' => Tok::Str(self.string()?),
            b'n' => self.word(b"null", Tok::Null)?,
            b't' => self.word(b"true", Tok::Bool(true))?,
            b'f' => self.word(b"false", Tok::Bool(false))?,
            b'-' | b'0'..=b'9' => self.number()?,
            _ => return None,
        };
        self.nodes.push(Node { key, tok });
        Some(())
    }

    fn word(&mut self, word: &[u8], tok: Tok<'a>) -> Option<Tok<'a>> {
        let rest = self.bytes().get(self.at..)?;
        rest.starts_with(word).then(|| {
            self.at += word.len();
            tok
        })
    }

    fn container(&mut self, key: Cow<'a, str>, depth: usize) -> Option<()> {
        // `data` is depth 1 in the envelope: deeper than the payload allows is the fallback's
        // to refuse, with its error.
        if depth >= DATA_NESTING_MAX {
            return None;
        }
        let object = self.peek()? == b'{';
        let (close, me) = (if object { b'}' } else { b']' }, self.nodes.len());
        self.nodes.push(Node {
            key,
            tok: Tok::Null,
        });
        self.at += 1;
        self.skip_ws();
        if self.peek()? == close {
            self.at += 1;
        } else {
            loop {
                let key = if object {
                    if self.peek()? != b'"' {
                        return None;
                    }
                    let key = self.string()?;
                    self.skip_ws();
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.at += 1;
                    self.skip_ws();
                    key
                } else {
                    Cow::Borrowed("")
                };
                self.value(key, depth + 1)?;
                self.skip_ws();
                match self.peek()? {
                    b',' => {
                        self.at += 1;
                        self.skip_ws();
                    }
                    b if b == close => {
                        self.at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        let end = u32::try_from(self.nodes.len()).ok()?;
        self.nodes[me].tok = if object {
            Tok::Object { end }
        } else {
            Tok::Array { end }
        };
        Some(())
    }

    /// A string at the opening quote; borrowed unless it has escapes.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let start = self.at + 1;
        let mut i = start;
        let bytes = self.bytes();
        loop {
            match *bytes.get(i)? {
                b'"' => {
                    self.at = i + 1;
                    // Quote positions are character boundaries of a `str`.
                    return self.text.get(start..i).map(Cow::Borrowed);
                }
                b'\\' => break,
                0..=0x1f => return None,
                _ => i += 1,
            }
        }
        let mut s = String::from(self.text.get(start..i)?);
        loop {
            match *bytes.get(i)? {
                b'"' => {
                    self.at = i + 1;
                    return Some(Cow::Owned(s));
                }
                b'\\' => {
                    let c = match *bytes.get(i + 1)? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let (c, used) = unicode_escape(bytes.get(i..)?)?;
                            s.push(c);
                            i += used;
                            continue;
                        }
                        _ => return None,
                    };
                    s.push(c);
                    i += 2;
                }
                0..=0x1f => return None,
                _ => {
                    // Copy the run up to the next quote, escape or control byte at once.
                    let run = bytes
                        .get(i..)?
                        .iter()
                        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
                    s.push_str(self.text.get(i..i + run)?);
                    i += run;
                }
            }
        }
    }

    /// A number. Short plain integers are converted here; every other form is converted by
    /// serde_json, so floats and large integers get exactly its values.
    fn number(&mut self) -> Option<Tok<'a>> {
        let bytes = self.bytes();
        let start = self.at;
        let mut i = start;
        let negative = bytes.get(i) == Some(&b'-');
        if negative {
            i += 1;
        }
        let digits = i;
        match *bytes.get(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => i = digits_end(bytes, i),
            _ => return None,
        }
        let int_end = i;
        if bytes.get(i) == Some(&b'.') {
            i = some_digits_end(bytes, i + 1)?;
        }
        if let Some(b'e' | b'E') = bytes.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = bytes.get(i) {
                i += 1;
            }
            i = some_digits_end(bytes, i)?;
        }
        self.at = i;
        // At most 18 digits always fit an i64; `-0` is a float in serde_json.
        if i == int_end && int_end - digits <= 18 {
            let mut n: i64 = 0;
            for &d in &bytes[digits..int_end] {
                n = n * 10 + i64::from(d - b'0');
            }
            if !negative {
                return Some(Tok::I64(n));
            }
            if n != 0 {
                return Some(Tok::I64(-n));
            }
        }
        let token = self.text.get(start..i)?;
        let n: serde_json::Number = serde_json::from_str(token).ok()?;
        Some(match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Tok::I64(i),
            // Above i64::MAX: stored as the nearest f64, as `encode` stores it.
            #[allow(clippy::cast_precision_loss)]
            (None, Some(u), _) => Tok::F64(u as f64),
            (_, _, Some(f)) => Tok::F64(f),
            _ => return None,
        })
    }
}

/// Where the run of ASCII digits starting at `i` ends.
fn digits_end(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// [`digits_end`] of a run that must not be empty.
fn some_digits_end(bytes: &[u8], i: usize) -> Option<usize> {
    let end = digits_end(bytes, i);
    (end > i).then_some(end)
}

/// `\uXXXX` (and its low surrogate when it is a high one) at the start of `bytes`: the
/// character and the bytes used. A lone surrogate is serde_json's to refuse.
fn unicode_escape(bytes: &[u8]) -> Option<(char, usize)> {
    let hex = |at: usize| -> Option<u32> {
        let digits = bytes.get(at..at + 4)?;
        let mut v = 0u32;
        for &d in digits {
            v = v * 16 + char::from(d).to_digit(16)?;
        }
        Some(v)
    };
    let first = hex(2)?;
    match first {
        0xd800..=0xdbff => {
            if bytes.get(6..8)? != b"\\u" {
                return None;
            }
            let low = hex(8)?;
            if !(0xdc00..=0xdfff).contains(&low) {
                return None;
            }
            let c = 0x10000 + ((first - 0xd800) << 10) + (low - 0xdc00);
            Some((char::from_u32(c)?, 12))
        }
        0xdc00..=0xdfff => None,
        _ => Some((char::from_u32(first)?, 6)),
    }
}
