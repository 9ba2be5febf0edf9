//! The Lite³ writer: inserts into a caller-provided buffer, byte-identical to the reference.
//!
//! Role: builds documents by the same sequence of steps as the reference's `lite3_set_impl` —
//! generation bump, quadratic probing, split-on-the-way-down, the 95-byte alignment rule, zeroing
//! — so the same inserts give the same bytes.
//!
//! The document's B-tree — probing, descending, splitting — lives here; the bytes of entries
//! and values, and the buffer they are written into, are in `buffer`.
//!
//! # Invariants
//! - Every byte of the document is written explicitly (gaps and padding as zeros), so the output
//!   does not depend on what the buffer held before.
//! - A failed insert leaves the buffer in an unspecified state: callers start over (as the
//!   reference does); `BufferTooSmall` says how long the document would have become.
//!
//! Spec: `spec/LITE3.md` §4 (insertion).

mod buffer;

pub(crate) use buffer::{read_key_tag, value_span};

use crate::layout::{
    LITE3_ALIGNED_PAYLOAD, LITE3_ARRAY, LITE3_HASH_PROBES, LITE3_NODE_KEYS, LITE3_OBJECT,
    LITE3_SPLIT_MEDIAN, LITE3_TREE_HEIGHT_MAX, RawLite3Node,
};
use crate::lite3::{Lite3Error, Lite3ErrorKind as K, djb2};
use crate::lite3::{
    NODE32, NodeWords, err, key_tag_len, node_at, node_mut, node_ref, probe_hash, put_node,
};
use buffer::add;
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
