//! Lite³: the binary JSON every frame payload is written in — reader, writer, envelope.
//!
//! Role: a pure-Rust, allocation-free codec for the reference's Lite³ encoding. The writer
//! produces the very bytes the reference's C library produces for the same sequence of inserts;
//! the reader navigates any document zero-copy and checks every offset it follows.
//!
//! # Invariants
//! - Nodes are borrowed in place as alignment-1 zerocopy structs (`ref_from_prefix`), so
//!   nothing depends on alignment; the release-built reference writes unaligned nodes in rare
//!   cases.
//! - Every walk is bounded: tree height ≤ 10 levels, nesting ≤ 32 containers, probes ≤ 128, and a
//!   whole-document walk visits at most `len / 96 + 1` nodes.
//!
//! Spec: `spec/LITE3.md`.

pub mod envelope;
pub mod read;
pub mod write;

use crate::layout::{
    LITE3_DJB2_MULT, LITE3_DJB2_SEED, LITE3_KC_BITS, LITE3_KC_MASK, LITE3_KEY_SIZE_LIMIT,
    LITE3_KEY_TAG1_BELOW, LITE3_KEY_TAG2_BELOW, LITE3_NODE_SIZE, LITE3_TYPE_BITS, RawLite3Node,
};
use core::fmt;
use zerocopy::{FromBytes, IntoBytes};

/// djb2 over the key bytes (the reference stops at a NUL; keys here never contain one).
pub const fn djb2(key: &[u8]) -> u32 {
    // Both constants are < 2^32 (checked by the spec table); the truncation is the identity.
    #[allow(clippy::cast_possible_truncation)]
    let seed = LITE3_DJB2_SEED as u32;
    let mut h = seed;
    let mut rest = key;
    while let [b, tail @ ..] = rest {
        h = djb2_step(h, *b);
        rest = tail;
    }
    h
}

/// One byte of djb2: `h × 33 + b` (wrapping).
#[inline]
pub(crate) const fn djb2_step(h: u32, b: u8) -> u32 {
    #[allow(clippy::cast_possible_truncation)] // 33
    let mult = LITE3_DJB2_MULT as u32;
    h.wrapping_mul(mult).wrapping_add(b as u32)
}

/// Hash tried at probe `i` of a chain starting at `h0`: `h0 + i²` (wrapping).
pub(crate) fn probe_hash(h0: u32, i: u64) -> u32 {
    let sq = u32::try_from(i.saturating_mul(i)).unwrap_or(u32::MAX);
    h0.wrapping_add(sq)
}

/// Length of the key tag for a key of `key_size` bytes (NUL included): 1, 2 or 4.
pub const fn key_tag_len(key_size: u64) -> Option<u64> {
    if key_size < LITE3_KEY_TAG1_BELOW {
        Some(1)
    } else if key_size < LITE3_KEY_TAG2_BELOW {
        Some(2)
    } else if key_size < LITE3_KEY_SIZE_LIMIT {
        Some(4)
    } else {
        None
    }
}

/// What is wrong with a Lite³ document, and where (byte offset in the payload).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lite3Error {
    /// What.
    pub kind: Lite3ErrorKind,
    /// Byte offset in the document.
    pub offset: u32,
}

/// The ways a Lite³ document or request can be wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lite3ErrorKind {
    /// The output buffer is too small; `needed` bytes would do for this step (grow and retry
    /// the whole encode).
    BufferTooSmall {
        /// Bytes needed at least.
        needed: u64,
    },
    /// The document would exceed the format's 4 GiB offsets.
    DocumentTooLarge,
    /// An object key contains a NUL byte (the reference would silently truncate it).
    KeyContainsNul,
    /// An object key is longer than the format allows.
    KeyTooLong,
    /// Two keys of different size classes collide in djb2: the reference cannot store both.
    KeyTagCollision,
    /// 128 keys collide on one hash chain.
    TooManyCollisions,
    /// The container's B-tree would be more than 10 levels deep.
    TreeTooTall,
    /// Containers nested deeper than 32.
    NestingTooDeep,
    /// The offset does not hold the expected kind of container.
    NotAContainer,
    /// An offset points outside the document.
    OutOfBounds,
    /// A node's key count is impossible (more than 7, or 0 below a root).
    BadKeyCount,
    /// A value type byte is not one of the eight types.
    BadType,
    /// A bool byte is neither 0 nor 1.
    BadBool,
    /// A string whose size field is 0 or that lacks its NUL terminator.
    BadString,
    /// A string or key that is not UTF-8.
    BadUtf8,
    /// A key without its NUL terminator, with an interior NUL, or with a non-minimal tag.
    BadKey,
    /// An array index that is not below the element count, or a missing index.
    BadIndex,
    /// The document's nodes add up to more than it could hold (cycles or shared subtrees).
    WalkTooLong,
    /// An in-order walk met hashes out of order (objects) or indices other than 0, 1, 2, …
    /// (arrays): a mis-built or shared subtree.
    HashOrder,
}

impl fmt::Display for Lite3ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Lite3ErrorKind as K;
        match self {
            K::BufferTooSmall { needed } => {
                write!(f, "buffer too small (need at least {needed} bytes)")
            }
            K::DocumentTooLarge => f.write_str("document larger than 4 GiB"),
            K::KeyContainsNul => f.write_str("object key contains a NUL byte"),
            K::KeyTooLong => f.write_str("object key too long"),
            K::KeyTagCollision => f.write_str("keys of different length classes share a hash"),
            K::TooManyCollisions => f.write_str("too many colliding keys"),
            K::TreeTooTall => f.write_str("container too large (B-tree height limit)"),
            K::NestingTooDeep => f.write_str("nesting deeper than 32 levels"),
            K::NotAContainer => f.write_str("not an object or array node"),
            K::OutOfBounds => f.write_str("offset out of bounds"),
            K::BadKeyCount => f.write_str("invalid node key count"),
            K::BadType => f.write_str("invalid value type"),
            K::BadBool => f.write_str("invalid bool byte"),
            K::BadString => f.write_str("invalid string size or terminator"),
            K::BadUtf8 => f.write_str("string is not UTF-8"),
            K::BadKey => f.write_str("invalid object key"),
            K::BadIndex => f.write_str("array index missing or out of range"),
            K::WalkTooLong => f.write_str("document structure is cyclic or shared"),
            K::HashOrder => f.write_str("entries out of order"),
        }
    }
}

impl fmt::Display for Lite3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at payload offset {}", self.kind, self.offset)
    }
}

impl core::error::Error for Lite3Error {}

pub(crate) const fn err(kind: Lite3ErrorKind, offset: u32) -> Lite3Error {
    Lite3Error { kind, offset }
}

/// Node size as an offset step.
#[allow(clippy::cast_possible_truncation)] // 96
pub(crate) const NODE32: u32 = LITE3_NODE_SIZE as u32;

/// Reads the node at `ofs`.
pub(crate) fn node_at(buf: &[u8], ofs: u32) -> Result<RawLite3Node, Lite3Error> {
    let bytes = usize::try_from(ofs)
        .ok()
        .and_then(|o| buf.get(o..))
        .ok_or(err(Lite3ErrorKind::OutOfBounds, ofs))?;
    RawLite3Node::read_from_prefix(bytes)
        .map(|(n, _)| n)
        .map_err(|_| err(Lite3ErrorKind::OutOfBounds, ofs))
}

/// Borrows the node at `ofs` in place (the struct has alignment 1, so any offset works).
pub(crate) fn node_ref(buf: &[u8], ofs: u32) -> Result<&RawLite3Node, Lite3Error> {
    let bytes = usize::try_from(ofs)
        .ok()
        .and_then(|o| buf.get(o..))
        .ok_or(err(Lite3ErrorKind::OutOfBounds, ofs))?;
    RawLite3Node::ref_from_prefix(bytes)
        .map(|(n, _)| n)
        .map_err(|_| err(Lite3ErrorKind::OutOfBounds, ofs))
}

/// Borrows the node at `ofs` mutably, in place.
pub(crate) fn node_mut(buf: &mut [u8], ofs: u32) -> Result<&mut RawLite3Node, Lite3Error> {
    let bytes = usize::try_from(ofs)
        .ok()
        .and_then(|o| buf.get_mut(o..))
        .ok_or(err(Lite3ErrorKind::OutOfBounds, ofs))?;
    RawLite3Node::mut_from_prefix(bytes)
        .map(|(n, _)| n)
        .map_err(|_| err(Lite3ErrorKind::OutOfBounds, ofs))
}

/// Writes the node at `ofs` (which must lie inside `buf`).
pub(crate) fn put_node(buf: &mut [u8], ofs: u32, node: &RawLite3Node) -> Result<(), Lite3Error> {
    let at = usize::try_from(ofs).map_err(|_| err(Lite3ErrorKind::OutOfBounds, ofs))?;
    let dst = buf
        .get_mut(at..)
        .ok_or(err(Lite3ErrorKind::OutOfBounds, ofs))?;
    node.write_to_prefix(dst)
        .map_err(|_| err(Lite3ErrorKind::OutOfBounds, ofs))
}

/// Accessors for the packed words of a node.
pub(crate) trait NodeWords {
    fn kind(&self) -> u8;
    fn kc(&self) -> usize;
    fn size(&self) -> u32;
    fn is_leaf(&self) -> bool;
    fn set_kc(&mut self, kc: usize);
    fn set_size(&mut self, size: u32);
    /// Adds one to the 24-bit generation counter (wrapping), keeping the type.
    fn bump_generation(&mut self);
}

impl NodeWords for RawLite3Node {
    fn kind(&self) -> u8 {
        self.gen_type.get().to_le_bytes()[0]
    }
    fn kc(&self) -> usize {
        // Masked to 3 bits.
        (u64::from(self.size_kc.get()) & LITE3_KC_MASK) as usize
    }
    fn size(&self) -> u32 {
        self.size_kc.get() >> LITE3_KC_BITS
    }
    fn is_leaf(&self) -> bool {
        self.child_ofs[0].get() == 0
    }
    fn set_kc(&mut self, kc: usize) {
        let size_bits = self.size_kc.get() & !((1u32 << LITE3_KC_BITS) - 1);
        // kc ≤ 7.
        #[allow(clippy::cast_possible_truncation)]
        self.size_kc.set(size_bits | (kc as u32 & 0x7));
    }
    fn set_size(&mut self, size: u32) {
        let kc_bits = self.size_kc.get() & ((1u32 << LITE3_KC_BITS) - 1);
        // The element count has 26 bits and wraps past them, as the reference's does.
        #[allow(clippy::cast_possible_truncation)] // 6
        self.size_kc
            .set(size.wrapping_shl(LITE3_KC_BITS as u32) | kc_bits);
    }
    fn bump_generation(&mut self) {
        #[allow(clippy::cast_possible_truncation)] // 8
        let bits = LITE3_TYPE_BITS as u32;
        let word = self.gen_type.get();
        let type_mask = 1u32.wrapping_shl(bits).wrapping_sub(1);
        let generation = (word >> bits).wrapping_add(1);
        self.gen_type
            .set(generation.wrapping_shl(bits) | (word & type_mask));
    }
}
