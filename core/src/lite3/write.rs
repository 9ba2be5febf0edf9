//! The Lite³ writer: inserts into a caller-provided buffer, byte-identical to the reference.
//!
//! Role: builds documents by the same sequence of steps as the reference's `lite3_set_impl` —
//! generation bump, quadratic probing, split-on-the-way-down, the 95-byte alignment rule, zeroing
//! — so the same inserts give the same bytes.
//!
//! # Invariants
//! - Every byte of the document is written explicitly (gaps and padding as zeros), so the output
//!   does not depend on what the buffer held before.
//! - A failed insert leaves the buffer in an unspecified state: callers start over (as the
//!   reference does); `BufferTooSmall` says how long the document would have become.
//!
//! Spec: `spec/LITE3.md` §4 (insertion).

use super::{Lite3Error, Lite3ErrorKind as K, djb2};
use super::{
    NODE32, NodeWords, err, key_tag_len, node_at, node_mut, node_ref, probe_hash, put_node,
};
use crate::layout::{
    LITE3_ALIGN, LITE3_ALIGNED_PAYLOAD, LITE3_ARRAY, LITE3_BOOL, LITE3_BYTES, LITE3_F64,
    LITE3_HASH_PROBES, LITE3_I64, LITE3_NODE_KEYS, LITE3_NULL, LITE3_OBJECT, LITE3_SPLIT_MEDIAN,
    LITE3_STRING, LITE3_TREE_HEIGHT_MAX, RawLite3Node,
};
use zerocopy::FromZeros;
use zerocopy::little_endian::U32;

/// A value to store.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'v> {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    I64(i64),
    /// A float.
    F64(f64),
    /// A UTF-8 string (may contain NUL).
    Str(&'v str),
    /// Raw bytes (never produced from JSON).
    Bytes(&'v [u8]),
    /// A new, empty object; the insert returns its offset.
    Object,
    /// A new, empty array; the insert returns its offset.
    Array,
}

impl Value<'_> {
    /// The value's payload size (after the type byte).
    fn payload_len(&self) -> u64 {
        match self {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::I64(_) | Value::F64(_) => 8,
            Value::Str(s) => 4u64.saturating_add(s.len() as u64).saturating_add(1),
            Value::Bytes(b) => 4u64.saturating_add(b.len() as u64),
            Value::Object | Value::Array => LITE3_ALIGNED_PAYLOAD,
        }
    }
}

/// Where an insert goes in a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key<'k> {
    /// An object member (no NUL inside).
    Name(&'k str),
    /// The next element of an array.
    Append,
}

/// A Lite³ document being written into a caller's buffer.
#[derive(Debug)]
pub struct Writer<'b> {
    buf: &'b mut [u8],
    len: u32,
}

impl<'b> Writer<'b> {
    /// Starts a document whose root is an object.
    pub fn object(buf: &'b mut [u8]) -> Result<Writer<'b>, Lite3Error> {
        Self::with_root(buf, LITE3_OBJECT)
    }

    /// Starts a document whose root is an array.
    pub fn array(buf: &'b mut [u8]) -> Result<Writer<'b>, Lite3Error> {
        Self::with_root(buf, LITE3_ARRAY)
    }

    fn with_root(buf: &'b mut [u8], kind: u8) -> Result<Writer<'b>, Lite3Error> {
        let mut w = Writer { buf, len: 0 };
        w.reserve(u64::from(NODE32))?;
        put_node(w.buf, 0, &fresh_node(kind))?;
        w.len = NODE32;
        Ok(w)
    }

    /// The document so far.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len as usize).unwrap_or_default()
    }

    /// Bytes used so far.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether nothing has been written (never true after construction).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Inserts `value` into the container whose node is at `container` (0 = root). Returns the
    /// value's offset: for [`Value::Object`] / [`Value::Array`], the new container's node.
    pub fn insert(
        &mut self,
        container: u32,
        key: Key<'_>,
        value: Value<'_>,
    ) -> Result<u32, Lite3Error> {
        let root = node_ref(self.buf, container)?;
        let want = match key {
            Key::Name(_) => LITE3_OBJECT,
            Key::Append => LITE3_ARRAY,
        };
        if root.kind() != want {
            return Err(err(K::NotAContainer, container));
        }
        let size = root.size();
        let (key_bytes, key_size, tag_len) = match key {
            Key::Name(k) => {
                if k.as_bytes().contains(&0) {
                    return Err(err(K::KeyContainsNul, container));
                }
                let size = (k.len() as u64).saturating_add(1);
                (
                    k.as_bytes(),
                    size,
                    key_tag_len(size).ok_or(err(K::KeyTooLong, container))?,
                )
            }
            Key::Append => (&[][..], 0, 0),
        };
        // The generation counter of the container goes up before anything can fail.
        node_mut(self.buf, container)?.bump_generation();

        let (h0, probes) = match key {
            Key::Name(k) => (djb2(k.as_bytes()), LITE3_HASH_PROBES),
            Key::Append => (size, 1),
        };
        let entry = Entry {
            key: key_bytes,
            key_size,
            tag_len,
            value,
        };
        for probe in 0..probes {
            let h = probe_hash(h0, probe);
            if let Some(at) = self.insert_hash(container, h, &entry)? {
                return Ok(at);
            }
        }
        Err(err(K::TooManyCollisions, container))
    }

    /// One probe: walks down from the container root, splitting full nodes, and inserts or
    /// overwrites under hash `h`. `None` when `h` holds another key (try the next probe).
    fn insert_hash(
        &mut self,
        container: u32,
        h: u32,
        e: &Entry<'_, '_>,
    ) -> Result<Option<u32>, Lite3Error> {
        let mut at = container;
        let mut parent: Option<(u32, usize)> = None;
        let mut depth = 0u64;
        loop {
            if node_ref(self.buf, at)?.kc() as u64 == LITE3_NODE_KEYS {
                match self.split(container, at, parent, h)? {
                    // The half we continue in holds 3 keys: it will not split again, so its
                    // parent is not needed any more.
                    Descend::Node(next) => at = next,
                    Descend::Found(p_at, i) => return self.found(p_at, i, e),
                }
            }
            let node = node_ref(self.buf, at)?;
            let kc = node.kc();
            let hashes = node.hashes.get(..kc).unwrap_or_default();
            let i = hashes.iter().position(|x| x.get() >= h).unwrap_or(kc);
            if hashes.get(i).is_some_and(|x| x.get() == h) {
                return self.found(at, i, e);
            }
            if !node.is_leaf() {
                depth = depth.saturating_add(1);
                if depth > LITE3_TREE_HEIGHT_MAX {
                    return Err(err(K::TreeTooTall, at));
                }
                parent = Some((at, i));
                at = node
                    .child_ofs
                    .get(i)
                    .map(|c| c.get())
                    .ok_or(err(K::BadKeyCount, at))?;
                continue;
            }
            // Leaf: the entry goes at the end of the log (after its alignment padding); make
            // room at i for its hash and offset, in place. (The reference updates the node
            // first; the two touch different bytes, so the result is the same.)
            let kv = self.entry_start(e)?;
            let node = node_mut(self.buf, at)?;
            shift_right(&mut node.hashes, i, kc);
            shift_right(&mut node.kv_ofs, i, kc);
            set(&mut node.hashes, i, h);
            set(&mut node.kv_ofs, i, kv);
            node.set_kc(kc.saturating_add(1));
            let root = node_mut(self.buf, container)?;
            root.set_size(root.size().wrapping_add(1));
            return self.append_entry(kv, e).map(Some);
        }
    }

    /// The key sits at `node_at.kv_ofs[i]`: compare it (objects) and overwrite its value.
    fn found(&mut self, at: u32, i: usize, e: &Entry<'_, '_>) -> Result<Option<u32>, Lite3Error> {
        let mut node = node_at(self.buf, at)?;
        let kv = node
            .kv_ofs
            .get(i)
            .map(|x| x.get())
            .ok_or(err(K::BadKeyCount, at))?;
        let value_at = if e.tag_len == 0 {
            kv
        } else {
            let (stored_tag_len, stored_size) = read_key_tag(self.as_bytes(), kv)?;
            if stored_tag_len != e.tag_len {
                return Err(err(K::KeyTagCollision, kv));
            }
            let key_at = add(kv, stored_tag_len)?;
            let stored = self.slice(key_at, stored_size)?;
            let wanted_len = usize::try_from(e.key_size.min(stored_size)).unwrap_or(usize::MAX);
            let same = stored.get(..wanted_len).is_some_and(|s| {
                s.iter()
                    .zip(e.key.iter().chain(core::iter::once(&0u8)))
                    .all(|(a, b)| a == b)
            });
            if !same || stored_size != e.key_size {
                return Ok(None);
            }
            add(key_at, stored_size)?
        };
        let old_span = value_span(self.as_bytes(), value_at)?;
        let new_len = e.value.payload_len();
        if new_len >= old_span {
            // Moves: zero the old entry, append a fresh one, repoint the slot.
            self.zero(
                kv,
                u64::from(value_at.saturating_sub(kv)).saturating_add(old_span),
            )?;
            let kv_new = self.entry_start(e)?;
            set(&mut node.kv_ofs, i, kv_new);
            put_node(self.buf, at, &node)?;
            self.append_entry(kv_new, e).map(Some)
        } else {
            // In place: zero the old value, write the new one where it was.
            self.zero(value_at, old_span)?;
            self.write_value(value_at, &e.value).map(Some)
        }
    }

    /// Splits the full node at `at` (child `p.1` of `p.0`, or the container root when `parent`
    /// is `None`) and says where the walk for hash `h` continues.
    fn split(
        &mut self,
        container: u32,
        at: u32,
        parent: Option<(u32, usize)>,
        h: u32,
    ) -> Result<Descend, Lite3Error> {
        if parent.is_none() && self.levels(at)? > LITE3_TREE_HEIGHT_MAX {
            // A root split adds a level. The reference lets the tree reach 11 levels and then
            // cannot read it (nor can we); refuse the insert instead of writing such a document.
            return Err(err(K::TreeTooTall, at));
        }
        self.align_end()?;
        let (left_at, (p_at, pi)) = match parent {
            Some(p) => (at, p),
            None => {
                // Root split: the root's bytes move down into a copy; the root keeps its type,
                // generation and element count and gets the copy as its only child.
                let root = node_at(self.buf, at)?;
                let copy = self.alloc_node()?;
                put_node(self.buf, copy, &root)?;
                let mut new_root = RawLite3Node::new_zeroed();
                new_root.gen_type = root.gen_type;
                new_root.size_kc = root.size_kc;
                new_root.set_kc(0);
                set(&mut new_root.child_ofs, 0, copy);
                put_node(self.buf, at, &new_root)?;
                (copy, (container, 0))
            }
        };
        let mut left = node_at(self.buf, left_at)?;
        let sibling_at = self.alloc_node()?;
        #[allow(clippy::cast_possible_truncation)] // 3
        let m = LITE3_SPLIT_MEDIAN as usize;
        // Keys m+1.. and children m+1.. move to the sibling.
        let upper = m.saturating_add(1);
        let (median_hash, median_kv) = (get(&left.hashes, m), get(&left.kv_ofs, m));
        let mut sibling = fresh_node(left.kind());
        for j in 0..m {
            set(
                &mut sibling.hashes,
                j,
                get(&left.hashes, j.saturating_add(upper)),
            );
            set(
                &mut sibling.kv_ofs,
                j,
                get(&left.kv_ofs, j.saturating_add(upper)),
            );
        }
        for j in 0..=m {
            set(
                &mut sibling.child_ofs,
                j,
                get(&left.child_ofs, j.saturating_add(upper)),
            );
        }
        sibling.set_kc(m);
        for j in m..left.hashes.len() {
            set(&mut left.hashes, j, 0);
            set(&mut left.kv_ofs, j, 0);
        }
        for j in upper..left.child_ofs.len() {
            set(&mut left.child_ofs, j, 0);
        }
        left.size_kc.set(0);
        left.set_kc(m);
        put_node(self.buf, left_at, &left)?;
        put_node(self.buf, sibling_at, &sibling)?;

        let mut p = node_at(self.buf, p_at)?;
        let pkc = p.kc();
        shift_right(&mut p.hashes, pi, pkc);
        shift_right(&mut p.kv_ofs, pi, pkc);
        shift_right(
            &mut p.child_ofs,
            pi.saturating_add(1),
            pkc.saturating_add(1),
        );
        set(&mut p.hashes, pi, median_hash);
        set(&mut p.kv_ofs, pi, median_kv);
        set(&mut p.child_ofs, pi.saturating_add(1), sibling_at);
        p.set_kc(pkc.saturating_add(1));
        put_node(self.buf, p_at, &p)?;

        Ok(if h > median_hash {
            Descend::Node(sibling_at)
        } else if h == median_hash {
            Descend::Found(p_at, pi)
        } else {
            Descend::Node(left_at)
        })
    }

    /// Levels of the B-tree under the container root at `root` (1 for a lone root), following
    /// first children; bounded by one more than the limit.
    fn levels(&self, root: u32) -> Result<u64, Lite3Error> {
        let mut at = root;
        let mut levels = 1u64;
        while levels <= LITE3_TREE_HEIGHT_MAX.saturating_add(1) {
            let node = node_at(self.buf, at)?;
            if node.is_leaf() {
                return Ok(levels);
            }
            at = get(&node.child_ofs, 0);
            levels = levels.saturating_add(1);
        }
        Ok(levels)
    }

    /// Where a new entry starts: after the padding that 4-aligns a 95-byte value.
    fn entry_start(&mut self, e: &Entry<'_, '_>) -> Result<u32, Lite3Error> {
        if e.value.payload_len() == LITE3_ALIGNED_PAYLOAD {
            let head = u64::from(self.len)
                .saturating_add(e.tag_len)
                .saturating_add(e.key_size);
            let pad = LITE3_ALIGN.saturating_sub(head % LITE3_ALIGN) % LITE3_ALIGN;
            self.grow_zeroed(pad)?;
        }
        Ok(self.len)
    }

    /// Appends key tag, key, NUL and the value at `kv` (== the current end).
    fn append_entry(&mut self, kv: u32, e: &Entry<'_, '_>) -> Result<u32, Lite3Error> {
        let total = e
            .tag_len
            .saturating_add(e.key_size)
            .saturating_add(1)
            .saturating_add(e.value.payload_len());
        self.reserve(total)?;
        let mut at = kv;
        if e.tag_len > 0 {
            // key_size < 2^30 (checked by key_tag_len), so the shift keeps every bit.
            let tag = (e.key_size << 2) | e.tag_len.saturating_sub(1);
            // tag < 2^32: its low 1, 2 or 4 bytes are the key tag.
            #[allow(clippy::cast_possible_truncation)]
            let tag_bytes = (tag as u32).to_le_bytes();
            at = match e.tag_len {
                1 => self.put_n(at, [tag_bytes[0]])?,
                2 => self.put_n(at, [tag_bytes[0], tag_bytes[1]])?,
                _ => self.put_n(at, tag_bytes)?,
            };
            at = self.put(at, e.key)?;
            at = self.put_n(at, [0])?;
        }
        let value_at = at;
        self.len = add(kv, total)?;
        self.write_value(value_at, &e.value)
    }

    /// Writes type byte and payload at `at` (space already reserved).
    fn write_value(&mut self, at: u32, v: &Value<'_>) -> Result<u32, Lite3Error> {
        let too_large = err(K::DocumentTooLarge, at);
        match *v {
            Value::Null => self.put_n(at, [LITE3_NULL])?,
            Value::Bool(b) => self.put_n(at, [LITE3_BOOL, u8::from(b)])?,
            Value::I64(n) => self.put_n(at, typed8(LITE3_I64, n.to_le_bytes()))?,
            Value::F64(x) => self.put_n(at, typed8(LITE3_F64, x.to_bits().to_le_bytes()))?,
            Value::Str(s) => {
                let size = u32::try_from(s.len().saturating_add(1)).map_err(|_| too_large)?;
                let a = self.put_n(at, typed4(LITE3_STRING, size.to_le_bytes()))?;
                let a = self.put(a, s.as_bytes())?;
                self.put_n(a, [0])?
            }
            Value::Bytes(b) => {
                let n = u32::try_from(b.len()).map_err(|_| too_large)?;
                let a = self.put_n(at, typed4(LITE3_BYTES, n.to_le_bytes()))?;
                self.put(a, b)?
            }
            Value::Object => {
                put_node(self.buf, at, &fresh_node(LITE3_OBJECT))?;
                add(at, u64::from(NODE32))?
            }
            Value::Array => {
                put_node(self.buf, at, &fresh_node(LITE3_ARRAY))?;
                add(at, u64::from(NODE32))?
            }
        };
        Ok(at)
    }

    /// Stores a fixed-size group of bytes (compiled to plain stores, not a `memcpy` call).
    #[inline]
    fn put_n<const N: usize>(&mut self, at: u32, bytes: [u8; N]) -> Result<u32, Lite3Error> {
        let start = at as usize;
        let dst = self
            .buf
            .get_mut(start..)
            .and_then(|b| b.first_chunk_mut::<N>());
        match dst {
            Some(d) => {
                *d = bytes;
                add(at, N as u64)
            }
            None => Err(err(
                K::BufferTooSmall {
                    needed: (start as u64).saturating_add(N as u64),
                },
                at,
            )),
        }
    }

    /// Makes sure `n` more bytes fit after the end.
    fn reserve(&self, n: u64) -> Result<(), Lite3Error> {
        let needed = u64::from(self.len).saturating_add(n);
        if needed > u64::from(u32::MAX) {
            return Err(err(K::DocumentTooLarge, self.len));
        }
        if needed > self.buf.len() as u64 {
            return Err(err(K::BufferTooSmall { needed }, self.len));
        }
        Ok(())
    }

    /// Appends `n` zero bytes.
    fn grow_zeroed(&mut self, n: u64) -> Result<(), Lite3Error> {
        self.reserve(n)?;
        self.zero(self.len, n)?;
        self.len = add(self.len, n)?;
        Ok(())
    }

    /// Rounds the end up to a multiple of 4 (before a split allocates nodes), zero-filling the
    /// gap (which the reference leaves unwritten in a zeroed buffer).
    fn align_end(&mut self) -> Result<(), Lite3Error> {
        let len = u64::from(self.len);
        self.grow_zeroed(LITE3_ALIGN.saturating_sub(len % LITE3_ALIGN) % LITE3_ALIGN)
    }

    /// Reserves a node at the end and returns its offset.
    fn alloc_node(&mut self) -> Result<u32, Lite3Error> {
        self.reserve(u64::from(NODE32))?;
        let at = self.len;
        self.len = add(at, u64::from(NODE32))?;
        Ok(at)
    }

    fn put(&mut self, at: u32, bytes: &[u8]) -> Result<u32, Lite3Error> {
        let start = at as usize;
        let dst = start
            .checked_add(bytes.len())
            .and_then(|end| self.buf.get_mut(start..end))
            .ok_or(err(
                K::BufferTooSmall {
                    needed: (start as u64).saturating_add(bytes.len() as u64),
                },
                at,
            ))?;
        dst.copy_from_slice(bytes);
        add(at, bytes.len() as u64)
    }

    fn zero(&mut self, at: u32, n: u64) -> Result<(), Lite3Error> {
        let start = at as usize;
        let end = start.saturating_add(usize::try_from(n).unwrap_or(usize::MAX));
        self.buf
            .get_mut(start..end)
            .ok_or(err(K::OutOfBounds, at))?
            .fill(0);
        Ok(())
    }

    fn slice(&self, at: u32, n: u64) -> Result<&[u8], Lite3Error> {
        let start = at as usize;
        let end = start.saturating_add(usize::try_from(n).unwrap_or(usize::MAX));
        self.as_bytes()
            .get(start..end)
            .ok_or(err(K::OutOfBounds, at))
    }
}

/// An insert being carried out.
struct Entry<'k, 'v> {
    key: &'k [u8],
    /// Key size with the NUL (0 for arrays).
    key_size: u64,
    /// Key tag length (0 for arrays).
    tag_len: u64,
    value: Value<'v>,
}

enum Descend {
    /// Continue at this node (one half of the split).
    Node(u32),
    /// The hash is the separator that just moved into this node at this index.
    Found(u32, usize),
}

/// A node with only its type set.
fn fresh_node(kind: u8) -> RawLite3Node {
    let mut n = RawLite3Node::new_zeroed();
    n.gen_type.set(u32::from(kind));
    n
}

fn get<const N: usize>(a: &[U32; N], i: usize) -> u32 {
    a.get(i).map_or(0, |x| x.get())
}

fn set<const N: usize>(a: &mut [U32; N], i: usize, v: u32) {
    if let Some(x) = a.get_mut(i) {
        x.set(v);
    }
}

/// Moves `a[i..n]` one place right (dropping what falls off the end).
fn shift_right<const N: usize>(a: &mut [U32; N], i: usize, n: usize) {
    let n = n.min(N.saturating_sub(1));
    let mut k = n;
    while k > i {
        let prev = get(a, k.saturating_sub(1));
        set(a, k, prev);
        k = k.saturating_sub(1);
    }
}

fn add(at: u32, n: u64) -> Result<u32, Lite3Error> {
    u64::from(at)
        .checked_add(n)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or(err(K::DocumentTooLarge, at))
}

/// `(tag length, key size)` of the key tag at `at`.
pub(crate) fn read_key_tag(buf: &[u8], at: u32) -> Result<(u64, u64), Lite3Error> {
    let first = *buf.get(at as usize).ok_or(err(K::OutOfBounds, at))?;
    if first & 3 == 0 {
        // One-byte tag: keys shorter than 63 bytes, the common case.
        return Ok((1, u64::from(first >> 2)));
    }
    let tag_len = u64::from(first & 3).saturating_add(1);
    let mut word = [0u8; 4];
    let start = at as usize;
    let bytes = buf
        .get(start..start.saturating_add(usize::try_from(tag_len).unwrap_or(usize::MAX)))
        .ok_or(err(K::OutOfBounds, at))?;
    if let Some(dst) = word.get_mut(..bytes.len()) {
        dst.copy_from_slice(bytes);
    }
    Ok((tag_len, u64::from(u32::from_le_bytes(word) >> 2)))
}

/// Bytes a stored value occupies: the type byte plus its payload.
pub(crate) fn value_span(buf: &[u8], at: u32) -> Result<u64, Lite3Error> {
    let t = *buf.get(at as usize).ok_or(err(K::OutOfBounds, at))?;
    let len_at = (at as usize).saturating_add(1);
    let u32_at = |o: usize| -> Result<u64, Lite3Error> {
        let b = buf
            .get(o..o.saturating_add(4))
            .ok_or(err(K::OutOfBounds, at))?;
        let w: [u8; 4] = b.try_into().map_err(|_| err(K::OutOfBounds, at))?;
        Ok(u64::from(u32::from_le_bytes(w)))
    };
    let payload = match t {
        LITE3_NULL => 0,
        LITE3_BOOL => 1,
        LITE3_I64 | LITE3_F64 => 8,
        LITE3_BYTES | LITE3_STRING => u32_at(len_at)?.saturating_add(4),
        LITE3_OBJECT | LITE3_ARRAY => LITE3_ALIGNED_PAYLOAD,
        _ => return Err(err(K::BadType, at)),
    };
    Ok(payload.saturating_add(1))
}

/// A type byte followed by 8 payload bytes.
fn typed8(t: u8, p: [u8; 8]) -> [u8; 9] {
    [t, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]]
}

/// A type byte followed by a 4-byte length.
fn typed4(t: u8, p: [u8; 4]) -> [u8; 5] {
    [t, p[0], p[1], p[2], p[3]]
}
