//! The Lite³ reader: lookups, iteration and validation over borrowed bytes.
//!
//! Role: zero-copy access to any Lite³ document — a key or a key path, an array index, the
//! entries of a container in stored order — with every offset checked before it is followed.
//!
//! Lookups and value decoding live here; walking a container's entries in stored order (and
//! so whole-document validation) is in `iter`.
//!
//! # Invariants
//! - No input panics, loops or reads out of bounds: lookups visit at most 10 levels × 128
//!   probes; [`Doc::validate`] visits at most `len / 96 + 1` nodes in all, which every valid
//!   document satisfies (its nodes do not overlap) and which caps cyclic or shared structures.
//! - Stricter than the reference where its readers have hazards: a string's size is at least 1
//!   and its last byte is NUL; keys end in exactly one NUL, have no interior NUL and a minimal
//!   tag; strings and keys are UTF-8; bools are 0 or 1; nodes below a root hold at least one key.
//! - Unaligned nodes are accepted (the release-built reference writes them).
//!
//! Spec: `spec/LITE3.md` §2 (layout), §5 (reading).

mod iter;

pub use iter::Iter;
use iter::validate_container;

use crate::layout::{
    LITE3_ARRAY, LITE3_BOOL, LITE3_BYTES, LITE3_F64, LITE3_HASH_PROBES, LITE3_I64,
    LITE3_NESTING_MAX, LITE3_NULL, LITE3_OBJECT, LITE3_STRING, LITE3_TREE_HEIGHT_MAX, RawLite3Node,
};
use crate::lite3::write::read_key_tag;
use crate::lite3::{
    Lite3Error, Lite3ErrorKind as K, NODE32, NodeWords, djb2, djb2_step, err, key_tag_len,
    node_ref, probe_hash,
};

/// A Lite³ document.
#[derive(Clone, Copy, Debug)]
pub struct Doc<'a> {
    buf: &'a [u8],
}

/// An object or array inside a document.
#[derive(Clone, Copy, Debug)]
pub struct Container<'a> {
    buf: &'a [u8],
    ofs: u32,
    kind: u8,
    /// Nesting level: the document root is 1.
    level: u8,
}

/// A value inside a document, borrowed from it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRef<'a> {
    /// `null`.
    Null,
    /// A bool.
    Bool(bool),
    /// An integer.
    I64(i64),
    /// A float.
    F64(f64),
    /// A string (without its NUL terminator; may contain NUL).
    Str(&'a str),
    /// Raw bytes.
    Bytes(&'a [u8]),
    /// An object.
    Object(Container<'a>),
    /// An array.
    Array(Container<'a>),
}

impl PartialEq for Container<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.ofs == other.ofs && core::ptr::eq(self.buf, other.buf)
    }
}

impl<'a> Doc<'a> {
    /// Opens a document: at least one node, at most 4 GiB, root an object or array.
    pub fn new(buf: &'a [u8]) -> Result<Doc<'a>, Lite3Error> {
        if u32::try_from(buf.len()).is_err() {
            return Err(err(K::DocumentTooLarge, 0));
        }
        let root = node_ref(buf, 0)?;
        if root.kind() != LITE3_OBJECT && root.kind() != LITE3_ARRAY {
            return Err(err(K::NotAContainer, 0));
        }
        Ok(Doc { buf })
    }

    /// The root container.
    pub fn root(&self) -> Container<'a> {
        Container {
            buf: self.buf,
            ofs: 0,
            kind: self.buf.first().copied().unwrap_or(LITE3_OBJECT),
            level: 1,
        }
    }

    /// The document bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// Checks the whole document: every node, key and value reachable from the root.
    pub fn validate(&self) -> Result<(), Lite3Error> {
        let mut budget = self.node_budget();
        validate_container(&mut self.root().iter_budgeted(&mut budget))
    }

    /// How many nodes a walk of the whole document may visit: `len / 96 + 1`, which every valid
    /// document stays within (its nodes do not overlap). Pass it to
    /// [`Container::iter_budgeted`] and [`Iter::nested`] to bound a walk of nested containers.
    pub fn node_budget(&self) -> usize {
        self.buf
            .len()
            .checked_div(usize::try_from(NODE32).unwrap_or(1))
            .unwrap_or(0)
            .saturating_add(1)
    }
}

/// Byte-wise equality, inlined (short keys and tags; the library compare is a call).
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

impl<'a> Container<'a> {
    /// Is this an object?
    pub fn is_object(&self) -> bool {
        self.kind == LITE3_OBJECT
    }

    /// Is this an array?
    pub fn is_array(&self) -> bool {
        self.kind == LITE3_ARRAY
    }

    /// The node offset of this container in the document.
    pub fn offset(&self) -> u32 {
        self.ofs
    }

    /// Number of entries (the element count stored in the container's root node).
    pub fn len(&self) -> Result<u32, Lite3Error> {
        Ok(node_ref(self.buf, self.ofs)?.size())
    }

    /// Whether the container has no entries.
    pub fn is_empty(&self) -> Result<bool, Lite3Error> {
        Ok(self.len()? == 0)
    }

    /// The value of object member `key` (`None` when absent or when this is not an object).
    pub fn get(&self, key: &str) -> Result<Option<ValueRef<'a>>, Lite3Error> {
        self.get_hashed(key, djb2(key.as_bytes()))
    }

    /// [`Container::get`] with the key's djb2 already computed (constant keys).
    pub(crate) fn get_hashed(
        &self,
        key: &str,
        h0: u32,
    ) -> Result<Option<ValueRef<'a>>, Lite3Error> {
        match self.lookup(key.as_bytes(), h0)? {
            Some(at) => self.value_at(at).map(Some),
            None => Ok(None),
        }
    }

    /// Offset of the value stored under `key` (whose djb2 is `h0`), without decoding it.
    #[inline]
    pub(crate) fn lookup(&self, wanted: &[u8], h0: u32) -> Result<Option<u32>, Lite3Error> {
        if self.kind != LITE3_OBJECT {
            return Ok(None);
        }
        let size = (wanted.len() as u64).saturating_add(1);
        let Some(tag_len) = key_tag_len(size) else {
            return Ok(None);
        };
        // The entry must start with exactly this tag, then the key, then NUL.
        let tag_word = (size << 2) | tag_len.saturating_sub(1);
        let tag_len = usize::try_from(tag_len).unwrap_or(0);
        let tag_bytes = tag_word.to_le_bytes();
        let tag_bytes = tag_bytes.get(..tag_len).unwrap_or_default();
        let key_end = tag_len.saturating_add(wanted.len());
        for probe in 0..LITE3_HASH_PROBES {
            let Some(kv) = self.find(probe_hash(h0, probe))? else {
                return Ok(None);
            };
            let entry = self.buf.get(kv as usize..).unwrap_or_default();
            let matches = entry.get(..=key_end).is_some_and(|e| {
                let (tag, rest) = e.split_at(tag_bytes.len().min(e.len()));
                // Keys are short: a byte loop beats two library compares.
                same_bytes(tag, tag_bytes)
                    && rest
                        .split_last()
                        .is_some_and(|(nul, k)| *nul == 0 && same_bytes(k, wanted))
            });
            if matches {
                let value_at = u64::from(kv)
                    .saturating_add(key_end as u64)
                    .saturating_add(1);
                return u32::try_from(value_at)
                    .map(Some)
                    .map_err(|_| err(K::OutOfBounds, kv));
            }
        }
        Ok(None)
    }

    /// The container whose node is the value at `at`, if that value is an object (or array,
    /// with `array`); `None` for any other value.
    #[inline]
    pub(crate) fn child_container(
        &self,
        at: u32,
        array: bool,
    ) -> Result<Option<Container<'a>>, Lite3Error> {
        let want = if array { LITE3_ARRAY } else { LITE3_OBJECT };
        let rest = self.buf.get(at as usize..).ok_or(err(K::OutOfBounds, at))?;
        if rest.first() != Some(&want) {
            return Ok(None);
        }
        let level = self.level.saturating_add(1);
        if u64::from(level) > LITE3_NESTING_MAX {
            return Err(err(K::NestingTooDeep, at));
        }
        if rest.len() < NODE32 as usize {
            return Err(err(K::OutOfBounds, at));
        }
        Ok(Some(Container {
            buf: self.buf,
            ofs: at,
            kind: want,
            level,
        }))
    }

    /// Element `i` of an array (`None` when out of range or when this is not an array).
    pub fn index(&self, i: u32) -> Result<Option<ValueRef<'a>>, Lite3Error> {
        if self.kind != LITE3_ARRAY || i >= self.len()? {
            return Ok(None);
        }
        match self.find(i)? {
            Some(kv) => self.value_at(kv).map(Some),
            None => Err(err(K::BadIndex, self.ofs)),
        }
    }

    /// Follows a dot-separated path (`a.b.0.c`): object keys, and array indices in decimal.
    /// `None` as soon as a step does not exist.
    pub fn path(&self, path: &str) -> Result<Option<ValueRef<'a>>, Lite3Error> {
        let mut here = if self.kind == LITE3_ARRAY {
            ValueRef::Array(*self)
        } else {
            ValueRef::Object(*self)
        };
        let mut rest = path;
        loop {
            let (step, more) = match rest.bytes().position(|b| b == b'.') {
                Some(i) => (
                    rest.get(..i).unwrap_or_default(),
                    rest.get(i.saturating_add(1)..),
                ),
                None => (rest, None),
            };
            let next = match here {
                ValueRef::Object(c) => c.get(step)?,
                ValueRef::Array(c) => match decimal_index(step) {
                    Some(i) => c.index(i)?,
                    None => None,
                },
                _ => None,
            };
            match (next, more) {
                (Some(v), Some(tail)) => {
                    here = v;
                    rest = tail;
                }
                (Some(v), None) => return Ok(Some(v)),
                (None, _) => return Ok(None),
            }
        }
    }

    /// Finds the entry with hash `h`: its `kv_ofs`.
    fn find(&self, h: u32) -> Result<Option<u32>, Lite3Error> {
        let mut at = self.ofs;
        for level in 0..=LITE3_TREE_HEIGHT_MAX {
            let node = checked_node(self.buf, at, level == 0)?;
            let kc = node.kc();
            let hashes = node.hashes.get(..kc).unwrap_or_default();
            let i = hashes.iter().position(|x| x.get() >= h).unwrap_or(kc);
            if hashes.get(i).is_some_and(|x| x.get() == h) {
                return Ok(node.kv_ofs.get(i).map(|k| k.get()));
            }
            if node.is_leaf() {
                return Ok(None);
            }
            at = child(node, i, at)?;
        }
        Err(err(K::TreeTooTall, at))
    }

    /// Decodes the value whose type byte is at `at`.
    #[inline(always)]
    fn value_at(&self, at: u32) -> Result<ValueRef<'a>, Lite3Error> {
        decode_value(self.buf, at, self.level)
    }
}

/// A path step as an array index: plain decimal digits, no sign, no leading zeros.
fn decimal_index(step: &str) -> Option<u32> {
    let canonical =
        step.bytes().all(|b| b.is_ascii_digit()) && (step == "0" || !step.starts_with('0'));
    if canonical { step.parse().ok() } else { None }
}

/// Reads the node at `at`, checking its key count (1..=7 below a container root).
#[inline]
fn checked_node(buf: &[u8], at: u32, is_root: bool) -> Result<&RawLite3Node, Lite3Error> {
    let node = node_ref(buf, at)?;
    if !is_root && node.kc() == 0 {
        return Err(err(K::BadKeyCount, at));
    }
    Ok(node)
}

/// Child `i` of an internal node: must be non-zero (0 is the document root).
#[inline]
fn child(node: &RawLite3Node, i: usize, at: u32) -> Result<u32, Lite3Error> {
    match node.child_ofs.get(i).map(|c| c.get()) {
        Some(c) if c != 0 => Ok(c),
        _ => Err(err(K::OutOfBounds, at)),
    }
}

/// The key at `kv` (NUL-terminated, no interior NUL, minimal tag, UTF-8), the offset of its
/// value, and the key's djb2, computed in the same pass that checks for NUL bytes.
#[inline]
fn read_key_hashed(buf: &[u8], kv: u32) -> Result<(&str, u32, u32), Lite3Error> {
    let (tag_len, size) = read_key_tag(buf, kv)?;
    if size == 0 || key_tag_len(size) != Some(tag_len) {
        return Err(err(K::BadKey, kv));
    }
    let start = u64::from(kv).saturating_add(tag_len);
    let end = start.saturating_add(size);
    let bytes = slice(buf, start, end, kv)?;
    let (nul, key) = bytes.split_last().ok_or(err(K::BadKey, kv))?;
    let mut h = djb2(b"");
    let mut has_nul = false;
    for &b in key {
        has_nul |= b == 0;
        h = djb2_step(h, b);
    }
    if *nul != 0 || has_nul {
        return Err(err(K::BadKey, kv));
    }
    let key = core::str::from_utf8(key).map_err(|_| err(K::BadUtf8, kv))?;
    let value_at = u32::try_from(end).map_err(|_| err(K::OutOfBounds, kv))?;
    Ok((key, value_at, h))
}

#[inline]
fn slice(buf: &[u8], start: u64, end: u64, at: u32) -> Result<&[u8], Lite3Error> {
    let s = usize::try_from(start).map_err(|_| err(K::OutOfBounds, at))?;
    let e = usize::try_from(end).map_err(|_| err(K::OutOfBounds, at))?;
    buf.get(s..e).ok_or(err(K::OutOfBounds, at))
}

#[inline(always)]
fn decode_value(buf: &[u8], at: u32, level: u8) -> Result<ValueRef<'_>, Lite3Error> {
    let oob = err(K::OutOfBounds, at);
    let rest = buf.get(at as usize..).ok_or(oob)?;
    let (&t, payload) = rest.split_first().ok_or(oob)?;
    let word8 = || -> Result<[u8; 8], Lite3Error> {
        payload.get(..8).and_then(|b| b.try_into().ok()).ok_or(oob)
    };
    Ok(match t {
        LITE3_NULL => ValueRef::Null,
        LITE3_BOOL => match payload.first() {
            Some(0) => ValueRef::Bool(false),
            Some(1) => ValueRef::Bool(true),
            Some(_) => return Err(err(K::BadBool, at)),
            None => return Err(oob),
        },
        LITE3_I64 => ValueRef::I64(i64::from_le_bytes(word8()?)),
        LITE3_F64 => ValueRef::F64(f64::from_bits(u64::from_le_bytes(word8()?))),
        LITE3_BYTES => ValueRef::Bytes(sized(payload, at)?),
        LITE3_STRING => {
            let s = string_bytes(payload, at)?;
            ValueRef::Str(core::str::from_utf8(s).map_err(|_| err(K::BadUtf8, at))?)
        }
        LITE3_OBJECT | LITE3_ARRAY => {
            let level = level.saturating_add(1);
            if u64::from(level) > LITE3_NESTING_MAX {
                return Err(err(K::NestingTooDeep, at));
            }
            if rest.len() < NODE32 as usize {
                return Err(oob);
            }
            let c = Container {
                buf,
                ofs: at,
                kind: t,
                level,
            };
            if t == LITE3_OBJECT {
                ValueRef::Object(c)
            } else {
                ValueRef::Array(c)
            }
        }
        _ => return Err(err(K::BadType, at)),
    })
}

/// The bytes of a length-prefixed payload (`u32` length, then the bytes).
#[inline]
fn sized(payload: &[u8], at: u32) -> Result<&[u8], Lite3Error> {
    let oob = err(K::OutOfBounds, at);
    let (len, body) = payload.split_first_chunk::<4>().ok_or(oob)?;
    body.get(..u32::from_le_bytes(*len) as usize).ok_or(oob)
}

/// A string payload without its NUL (size ≥ 1, last byte NUL); not checked for UTF-8.
#[inline]
fn string_bytes(payload: &[u8], at: u32) -> Result<&[u8], Lite3Error> {
    match sized(payload, at)?.split_last() {
        Some((0, s)) => Ok(s),
        _ => Err(err(K::BadString, at)),
    }
}

/// The raw bytes of the string value at `at` (type byte first); `None` when it is another type.
fn raw_string_at(buf: &[u8], at: u32) -> Result<Option<&[u8]>, Lite3Error> {
    let oob = err(K::OutOfBounds, at);
    let (&t, payload) = buf
        .get(at as usize..)
        .and_then(<[u8]>::split_first)
        .ok_or(oob)?;
    if t == LITE3_STRING {
        string_bytes(payload, at).map(Some)
    } else {
        Ok(None)
    }
}
