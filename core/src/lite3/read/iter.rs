//! Walking a Lite³ container: its entries in stored order, checked as they come, and the
//! whole-document validation built on that walk.
//!
//! Role: the one in-order traversal every whole-document reader uses (validation, printing,
//! conversion); each entry's place (hash order, count) and key are checked before its value is
//! decoded.
//!
//! # Invariants
//! - A walk descends at most 10 levels and, when given a budget, visits at most that many nodes
//!   across every nested walk sharing it.
//! - Object entries come out in strictly ascending hash order, array entries at hashes 0, 1, …;
//!   every key sits on its own probe chain; the walk ends with exactly the count the container
//!   states. An error ends the walk for good.
//!
//! Spec: `spec/LITE3.md` §2 (layout), §5 (reading).

use super::{Container, ValueRef, checked_node, child, raw_string_at, read_key_hashed};
use crate::layout::{LITE3_ARRAY, LITE3_HASH_PROBES, LITE3_OBJECT, RawLite3Node};
use crate::lite3::{Lite3Error, Lite3ErrorKind as K, NodeWords, err, node_ref};

pub(super) fn validate_container(it: &mut Iter<'_, '_>) -> Result<(), Lite3Error> {
    // The iterator checks order, probe chains, the budget and, at its end, the count.
    while let Some((_, value)) = it.next_entry()? {
        if let ValueRef::Object(inner) | ValueRef::Array(inner) = value {
            validate_container(&mut it.nested(&inner))?;
        }
    }
    Ok(())
}

/// Is `hash` one of the probe hashes `h0 + i²` (i < 128) of a key whose djb2 is `h0`?
#[inline]
fn on_probe_chain(hash: u32, h0: u32) -> bool {
    let d = u64::from(hash.wrapping_sub(h0));
    d == 0 || (1..LITE3_HASH_PROBES).any(|i| i.saturating_mul(i) == d)
}

impl<'a> Container<'a> {
    /// The entries in stored order (objects: ascending key hash; arrays: index order).
    pub fn iter(&self) -> Iter<'a, 'static> {
        Iter {
            c: *self,
            stack: [Frame::default(); 10],
            depth: 0,
            started: false,
            budget: None,
            last: None,
            count: 0,
            size: 0,
        }
    }

    /// Like [`Container::iter`], charging every node visited to `budget` (see
    /// [`Doc::node_budget`](super::Doc::node_budget)); the walk fails with `WalkTooLong` when it runs out.
    pub fn iter_budgeted<'b>(&self, budget: &'b mut usize) -> Iter<'a, 'b> {
        Iter {
            c: *self,
            stack: [Frame::default(); 10],
            depth: 0,
            started: false,
            budget: Some(budget),
            last: None,
            count: 0,
            size: 0,
        }
    }

    /// The raw bytes of each string element of an array held in a single node (up to 7
    /// elements: tag lists, in practice), in order, without an iterator; `None` when the array
    /// spans several nodes. A non-string element is `Err(BadType)`. Strings are not checked for
    /// UTF-8 here: callers compare them with `&str`s.
    pub(crate) fn leaf_strings(&self) -> Result<Option<LeafStrings<'a>>, Lite3Error> {
        let node = node_ref(self.buf, self.ofs)?;
        if self.kind != LITE3_ARRAY || !node.is_leaf() || node.kc() as u64 != u64::from(node.size())
        {
            return Ok(None);
        }
        Ok(Some(LeafStrings {
            buf: self.buf,
            node,
            at: self.ofs,
            next: 0,
        }))
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Frame<'a> {
    node: Option<&'a RawLite3Node>,
    at: u32,
    /// Step within the node: even 2j = descend into child j, odd 2j+1 = yield key j.
    step: u8,
}

/// In-order iteration over a container's entries: `(key, value)`, key `None` for arrays.
#[derive(Debug)]
pub struct Iter<'a, 'b> {
    c: Container<'a>,
    stack: [Frame<'a>; 10],
    depth: usize,
    started: bool,
    /// Nodes this walk may still visit (shared across nested walks by validation).
    budget: Option<&'b mut usize>,
    /// Hash of the entry yielded last.
    last: Option<u32>,
    /// Entries yielded so far.
    count: u32,
    /// The container's element count (read when the walk starts).
    size: u32,
}

impl<'a> Iter<'a, '_> {
    fn push(&mut self, at: u32) -> Result<(), Lite3Error> {
        if let Some(b) = self.budget.as_deref_mut() {
            *b = b.checked_sub(1).ok_or(err(K::WalkTooLong, at))?;
        }
        let is_root = self.depth == 0;
        let node = checked_node(self.c.buf, at, is_root)?;
        if is_root {
            if node.kind() != self.c.kind {
                return Err(err(K::NotAContainer, at));
            }
            self.size = node.size();
        }
        let slot = self
            .stack
            .get_mut(self.depth)
            .ok_or(err(K::TreeTooTall, at))?;
        *slot = Frame {
            node: Some(node),
            at,
            step: 0,
        };
        self.depth = self.depth.saturating_add(1);
        Ok(())
    }

    /// The stored hash of the entry yielded last (`None` before the first): for an object
    /// member, the probe hash it is stored under — equal to the djb2 of its key exactly when a
    /// lookup of that key finds it at the first probe, before any other entry with that key.
    pub fn last_hash(&self) -> Option<u32> {
        self.last
    }

    /// An iterator over a container found while walking this one, charged to the same node
    /// budget (so a whole-document walk stays bounded however containers nest).
    pub fn nested(&mut self, c: &Container<'a>) -> Iter<'a, '_> {
        Iter {
            c: *c,
            stack: [Frame::default(); 10],
            depth: 0,
            started: false,
            budget: self.budget.as_deref_mut(),
            last: None,
            count: 0,
            size: 0,
        }
    }

    /// The end of the walk: every entry the container counts must have come out.
    fn finish(&self) -> Result<Option<Slot<'a>>, Lite3Error> {
        if self.count == self.size {
            Ok(None)
        } else {
            Err(err(K::BadIndex, self.c.ofs))
        }
    }

    /// The next entry, or `None` at the end. Stops for good after an error.
    ///
    /// Inlined into each walk: the decoded [`ValueRef`] is then built in the caller's frame.
    /// Returned from a call it travels through memory as an enum whose payload sits at an odd
    /// offset, and the copy stalls on store forwarding (it cost more than the checks).
    #[inline(always)]
    fn next_entry(&mut self) -> Result<Option<(Option<&'a str>, ValueRef<'a>)>, Lite3Error> {
        let r = match self.step() {
            Ok(Some(slot)) => self.c.value_at(slot.value_at).map(|v| Some((slot.key, v))),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        if r.is_err() {
            self.depth = 0;
            self.started = true;
        }
        r
    }

    /// Advances to the next entry: checks its place (order, count) and its key, and says where
    /// its value is; the value is decoded by the caller.
    ///
    /// Inlined into each walk, as `next_entry` is: called, it returns its slot through memory and
    /// pays a call per entry, about 6 % of a whole-document check.
    #[inline(always)]
    fn step(&mut self) -> Result<Option<Slot<'a>>, Lite3Error> {
        if !self.started {
            self.started = true;
            self.push(self.c.ofs)?;
        }
        loop {
            let Some(top) = self.depth.checked_sub(1) else {
                return self.finish();
            };
            let frame = self
                .stack
                .get_mut(top)
                .ok_or(err(K::TreeTooTall, self.c.ofs))?;
            let Some(node) = frame.node else {
                return self.finish();
            };
            let j = usize::from(frame.step / 2);
            let at = frame.at;
            if frame.step % 2 == 0 {
                frame.step = frame.step.saturating_add(1);
                if !node.is_leaf() {
                    self.push(child(node, j, at)?)?;
                    continue;
                }
                // A leaf has no child j: on to key j in this same round.
            }
            if j >= node.kc() {
                self.depth = top;
                continue;
            }
            frame.step = frame.step.saturating_add(1);
            let kv = node
                .kv_ofs
                .get(j)
                .map(|k| k.get())
                .ok_or(err(K::BadKeyCount, at))?;
            let hash = node
                .hashes
                .get(j)
                .map(|h| h.get())
                .ok_or(err(K::BadKeyCount, at))?;
            let in_order = match (self.last, self.c.kind == LITE3_ARRAY) {
                (Some(prev), true) => prev.checked_add(1) == Some(hash),
                (Some(prev), false) => prev < hash,
                (None, true) => hash == 0,
                (None, false) => true,
            };
            if !in_order {
                return Err(err(K::HashOrder, at));
            }
            self.last = Some(hash);
            self.count = self.count.saturating_add(1);
            return if self.c.kind == LITE3_OBJECT {
                let (key, value_at, h0) = read_key_hashed(self.c.buf, kv)?;
                // A key off its own probe chain could be printed but never looked up.
                if !on_probe_chain(hash, h0) {
                    return Err(err(K::HashOrder, kv));
                }
                Ok(Some(Slot {
                    key: Some(key),
                    value_at,
                }))
            } else {
                Ok(Some(Slot {
                    key: None,
                    value_at: kv,
                }))
            };
        }
    }
}

/// An entry whose place and key are checked and whose value is not decoded yet.
#[derive(Clone, Copy)]
struct Slot<'a> {
    key: Option<&'a str>,
    value_at: u32,
}

impl<'a> Iterator for Iter<'a, '_> {
    type Item = Result<(Option<&'a str>, ValueRef<'a>), Lite3Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}

/// String elements of a single-node array, see [`Container::leaf_strings`].
#[derive(Debug)]
pub(crate) struct LeafStrings<'a> {
    buf: &'a [u8],
    node: &'a RawLite3Node,
    at: u32,
    next: usize,
}

impl<'a> Iterator for LeafStrings<'a> {
    type Item = Result<&'a [u8], Lite3Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let j = self.next;
        if j >= self.node.kc() {
            return None;
        }
        self.next = j.saturating_add(1);
        let hash = self.node.hashes.get(j).map(|h| h.get());
        let kv = self.node.kv_ofs.get(j).map(|k| k.get());
        Some(match (hash, kv) {
            (Some(h), Some(kv)) if h as usize == j => match raw_string_at(self.buf, kv) {
                Ok(Some(s)) => Ok(s),
                Ok(None) => Err(err(K::BadType, kv)),
                Err(e) => Err(e),
            },
            _ => Err(err(K::HashOrder, self.at)),
        })
    }
}
