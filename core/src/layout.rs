//! Every format constant and on-disk structure of pool format version 3.
//!
//! Role: the single place where numbers from the format live. Other modules name these
//! constants; none spells a format number itself. `spec/FORMAT.md` § Constants carries the same
//! table and a test (`tests/spec_constants.rs`) fails when the two disagree.
//!
//! # Invariants
//! - On-disk structs are `#[repr(C)]`, built only from alignment-1 little-endian fields, and
//!   their sizes and field offsets are asserted at compile time below.
//! - No on-disk struct holds a native integer, `bool`, `usize` or Rust `enum`: words that look
//!   like enums (frame state) are stored raw and decoded by [`crate::frame`].
//!
//! Spec: `spec/FORMAT.md` §1 (file layout), §2 (header), §3 (index), §4 (frames), §9 (constants).

use core::mem::{offset_of, size_of};
use zerocopy::little_endian::{U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// Magic bytes at the start of every pool file.
pub const POOL_MAGIC: [u8; 4] = *b"PLSM";
/// The only format version this crate reads and writes.
pub const FORMAT_VERSION: u32 = 3;
/// Value of the endianness byte meaning little-endian, the only one accepted.
pub const ENDIAN_LITTLE: u8 = 1;
/// Size of the pool header block at the start of the file.
pub const HEADER_SIZE: u64 = 4096;
/// File offset of the index region (always directly after the header block).
pub const INDEX_OFFSET: u64 = 4096;
/// Size of one index slot.
pub const INDEX_SLOT_SIZE: u64 = 16;

/// Magic bytes at the start of every frame header.
pub const FRAME_MAGIC: [u8; 4] = *b"FRM1";
/// Size of a frame header.
pub const FRAME_HEADER_SIZE: u64 = 64;
/// The commit marker written right after a frame's payload.
pub const COMMIT_MARKER: [u8; 8] = *b"PLSMCMIT";
/// Size of the commit marker.
pub const COMMIT_MARKER_SIZE: u64 = 8;
/// Frames start on multiples of this and their lengths are rounded up to it.
pub const FRAME_ALIGN: u64 = 8;
/// Upper bound on a payload regardless of ring size (256 MiB).
pub const MAX_PAYLOAD: u64 = 268_435_456;

/// Frame state word: never written; a zeroed frame fails the magic check first.
pub const STATE_EMPTY: u32 = 0;
/// Frame state word: header written, payload or marker still being copied.
pub const STATE_WRITING: u32 = 1;
/// Frame state word: payload and marker complete.
pub const STATE_COMMITTED: u32 = 2;
/// Frame state word: "continue at ring offset 0".
pub const STATE_WRAP: u32 = 3;

/// Frame `flags` bit: the `crc` field holds a CRC-32 (IEEE, as `crc32fast`) of the payload.
/// Our extension; frames without it (the reference's) carry `crc == 0`.
pub const FRAME_FLAG_CRC32: u32 = 1;
/// Every frame flag this implementation understands; any other bit set is corruption.
pub const FRAME_FLAGS_KNOWN: u32 = FRAME_FLAG_CRC32;

/// Default pool file size (1 MiB) used by every interface when none is given.
pub const DEFAULT_POOL_SIZE: u64 = 1_048_576;
/// Auto index rule: one slot per this many bytes of file …
pub const INDEX_AUTO_BYTES_PER_SLOT: u64 = 256;
/// … capped at this many slots …
pub const INDEX_AUTO_MAX_SLOTS: u64 = 65_536;
/// … and leaving at least this many bytes for the ring.
pub const INDEX_AUTO_RING_RESERVE: u64 = 1024;

/// File offset of the header's `state_gen` word (extension, in the v3 reserved area).
pub const STATE_GEN_OFFSET: u64 = 104;
/// File offset of the header's ring-state journal (extension, in the v3 reserved area).
pub const JOURNAL_OFFSET: u64 = 112;
/// File offset of the "a follower may be parked" flag (extension, in the v3 reserved area).
pub const WAITERS_OFFSET: u64 = 152;
/// File offset of the wake word readers wait on (extension, in the v3 reserved area).
pub const WAKE_OFFSET: u64 = 156;
/// First header byte past everything this implementation reads or writes; bytes from here
/// to [`HEADER_SIZE`] must be zero.
pub const HEADER_USED_END: u64 = 160;

/// The five words that describe where the live messages are.
///
/// Appears twice in the header: at offset 64 (the v3 fields every implementation reads) and at
/// [`JOURNAL_OFFSET`] (our journal, authoritative while `state_gen` is odd).
#[derive(
    FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq,
)]
#[repr(C)]
pub struct RawRingState {
    /// Ring-relative offset where the next frame will be written.
    pub head_off: U64,
    /// Ring-relative offset of the oldest retained frame (or of the wrap that precedes it).
    pub tail_off: U64,
    /// Ring-relative offset of the frame after the tail frame (a planner hint).
    pub tail_next_off: U64,
    /// Sequence of the oldest retained message; 0 means the pool is empty.
    pub oldest_seq: U64,
    /// Sequence of the newest message ever committed.
    pub newest_seq: U64,
}

/// The used part of the 4096-byte pool header block.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug)]
#[repr(C)]
pub struct RawPoolHeader {
    /// [`POOL_MAGIC`].
    pub magic: [u8; 4],
    /// [`FORMAT_VERSION`].
    pub version: U32,
    /// [`ENDIAN_LITTLE`].
    pub endianness: u8,
    /// Zero.
    pub reserved0: [u8; 7],
    /// Total file length.
    pub file_size: U64,
    /// [`INDEX_OFFSET`].
    pub index_offset: U64,
    /// Number of index slots (0 = no index).
    pub index_capacity: U32,
    /// Zero.
    pub reserved1: [u8; 4],
    /// `INDEX_OFFSET + INDEX_SLOT_SIZE × index_capacity`.
    pub ring_offset: U64,
    /// `file_size − ring_offset`.
    pub ring_size: U64,
    /// Zero (no header flags are defined).
    pub flags: U64,
    /// The ring state every v3 implementation reads.
    pub ring: RawRingState,
    /// Extension: even ⇒ `ring` is authoritative; odd ⇒ `journal` is (an update is in flight or
    /// was cut short).
    pub state_gen: U64,
    /// Extension: the ring state being published while `state_gen` is odd.
    pub journal: RawRingState,
    /// Extension: 1 when a follower may be parked on `wake` (a flag, not a count).
    pub waiters: U32,
    /// Extension: bumped by writers after publishing; readers wait for it to change.
    pub wake: U32,
}

/// One slot of the seq → offset index.
#[derive(
    FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq,
)]
#[repr(C)]
pub struct RawIndexSlot {
    /// Sequence stored in this slot (0 = never written).
    pub seq: U64,
    /// Ring-relative offset of that sequence's frame header.
    pub offset: U64,
}

/// The 64-byte header that starts every frame.
#[derive(
    FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq,
)]
#[repr(C)]
pub struct RawFrameHeader {
    /// [`FRAME_MAGIC`].
    pub magic: [u8; 4],
    /// One of the `STATE_*` words.
    pub state: U32,
    /// Frame flags ([`FRAME_FLAG_CRC32`]).
    pub flags: U32,
    /// Always [`FRAME_HEADER_SIZE`].
    pub header_len: U32,
    /// Message sequence (0 for wrap markers).
    pub seq: U64,
    /// Append time, nanoseconds since the Unix epoch (0 for wrap markers).
    pub timestamp_ns: U64,
    /// Payload length in bytes.
    pub payload_len: U32,
    /// `payload_len ^ 0xFFFF_FFFF`: a guard against torn lengths.
    pub payload_len_xor: U32,
    /// CRC-32 of the payload when [`FRAME_FLAG_CRC32`] is set, else 0 (named `crc32c` in v3).
    pub crc: U32,
    /// Zero.
    pub reserved: [u8; 20],
}

/// File offset of the ring-state fields (`head_off`) in the header.
pub const RING_STATE_OFFSET: u64 = 64;
/// Byte offset of the state word inside a frame header.
pub const FRAME_STATE_OFFSET: u64 = 4;
/// Byte offset of the `seq` field inside an index slot.
pub const INDEX_SLOT_SEQ_OFFSET: u64 = 0;
/// Byte offset of the `offset` field inside an index slot.
pub const INDEX_SLOT_OFF_OFFSET: u64 = 8;
/// Byte offset of `newest_seq` inside a [`RawRingState`].
pub const NEWEST_IN_STATE: u64 = 32;

/// [`HEADER_SIZE`] as a buffer length.
#[allow(clippy::cast_possible_truncation)] // 4096 fits every usize
pub const HEADER_LEN: usize = HEADER_SIZE as usize;
/// [`FRAME_HEADER_SIZE`] as a buffer length.
#[allow(clippy::cast_possible_truncation)] // 64 fits every usize
pub const FRAME_HEADER_LEN: usize = FRAME_HEADER_SIZE as usize;
/// [`FRAME_HEADER_SIZE`] as the value of the frame's `header_len` word.
#[allow(clippy::cast_possible_truncation)] // 64 fits u32
pub const FRAME_HEADER_LEN_WORD: u32 = FRAME_HEADER_SIZE as u32;
/// [`INDEX_SLOT_SIZE`] as a buffer length.
#[allow(clippy::cast_possible_truncation)] // 16 fits every usize
pub const INDEX_SLOT_LEN: usize = INDEX_SLOT_SIZE as usize;

/// Converts a compile-time struct offset to `u64` (struct offsets here are < 4096).
const fn off(n: usize) -> u64 {
    n as u64
}

const _: () = {
    assert!(size_of::<RawRingState>() == 40);
    assert!(size_of::<RawPoolHeader>() as u64 == HEADER_USED_END);
    assert!(size_of::<RawIndexSlot>() as u64 == INDEX_SLOT_SIZE);
    assert!(size_of::<RawFrameHeader>() as u64 == FRAME_HEADER_SIZE);
    assert!(HEADER_USED_END <= HEADER_SIZE);
    assert!(INDEX_OFFSET == HEADER_SIZE);

    assert!(off(offset_of!(RawPoolHeader, magic)) == 0);
    assert!(off(offset_of!(RawPoolHeader, version)) == 4);
    assert!(off(offset_of!(RawPoolHeader, endianness)) == 8);
    assert!(off(offset_of!(RawPoolHeader, reserved0)) == 9);
    assert!(off(offset_of!(RawPoolHeader, file_size)) == 16);
    assert!(off(offset_of!(RawPoolHeader, index_offset)) == 24);
    assert!(off(offset_of!(RawPoolHeader, index_capacity)) == 32);
    assert!(off(offset_of!(RawPoolHeader, reserved1)) == 36);
    assert!(off(offset_of!(RawPoolHeader, ring_offset)) == 40);
    assert!(off(offset_of!(RawPoolHeader, ring_size)) == 48);
    assert!(off(offset_of!(RawPoolHeader, flags)) == 56);
    assert!(off(offset_of!(RawPoolHeader, ring)) == RING_STATE_OFFSET);
    assert!(off(offset_of!(RawPoolHeader, state_gen)) == STATE_GEN_OFFSET);
    assert!(off(offset_of!(RawPoolHeader, journal)) == JOURNAL_OFFSET);
    assert!(off(offset_of!(RawPoolHeader, waiters)) == WAITERS_OFFSET);
    assert!(off(offset_of!(RawPoolHeader, wake)) == WAKE_OFFSET);

    assert!(off(offset_of!(RawRingState, head_off)) == 0);
    assert!(off(offset_of!(RawRingState, tail_off)) == 8);
    assert!(off(offset_of!(RawRingState, tail_next_off)) == 16);
    assert!(off(offset_of!(RawRingState, oldest_seq)) == 24);
    assert!(off(offset_of!(RawRingState, newest_seq)) == NEWEST_IN_STATE);

    assert!(off(offset_of!(RawIndexSlot, seq)) == INDEX_SLOT_SEQ_OFFSET);
    assert!(off(offset_of!(RawIndexSlot, offset)) == INDEX_SLOT_OFF_OFFSET);

    assert!(off(offset_of!(RawFrameHeader, magic)) == 0);
    assert!(off(offset_of!(RawFrameHeader, state)) == FRAME_STATE_OFFSET);
    assert!(off(offset_of!(RawFrameHeader, flags)) == 8);
    assert!(off(offset_of!(RawFrameHeader, header_len)) == 12);
    assert!(off(offset_of!(RawFrameHeader, seq)) == 16);
    assert!(off(offset_of!(RawFrameHeader, timestamp_ns)) == 24);
    assert!(off(offset_of!(RawFrameHeader, payload_len)) == 32);
    assert!(off(offset_of!(RawFrameHeader, payload_len_xor)) == 36);
    assert!(off(offset_of!(RawFrameHeader, crc)) == 40);
    assert!(off(offset_of!(RawFrameHeader, reserved)) == 44);
};

// ---- Lite³ payload encoding (spec/LITE3.md) ----

/// Size of a Lite³ B-tree node (and of an empty object or array).
pub const LITE3_NODE_SIZE: u64 = 96;
/// Keys per Lite³ node (B-tree order 8).
pub const LITE3_NODE_KEYS: u64 = 7;
/// Keys a split leaves in each half; the median (this index) moves up.
pub const LITE3_SPLIT_MEDIAN: u64 = 3;
/// Descents allowed below a container's root node (10 levels).
pub const LITE3_TREE_HEIGHT_MAX: u64 = 9;
/// Containers nested at most this deep, the root included.
pub const LITE3_NESTING_MAX: u64 = 32;
/// Quadratic probes tried when object key hashes collide.
pub const LITE3_HASH_PROBES: u64 = 128;
/// djb2 seed of object key hashes.
pub const LITE3_DJB2_SEED: u64 = 5381;
/// djb2 multiplier.
pub const LITE3_DJB2_MULT: u64 = 33;
/// Key sizes (with the NUL) below this get a 1-byte key tag …
pub const LITE3_KEY_TAG1_BELOW: u64 = 64;
/// … below this a 2-byte tag, else a 4-byte tag.
pub const LITE3_KEY_TAG2_BELOW: u64 = 16_384;
/// Upper bound (exclusive) on key sizes (the tag's 30 bits).
pub const LITE3_KEY_SIZE_LIMIT: u64 = 1 << 30;
/// A value whose payload is exactly this long is placed 4-aligned (containers: 1 + 95 = node).
pub const LITE3_ALIGNED_PAYLOAD: u64 = 95;
/// Alignment of nodes and of 95-byte payload values.
pub const LITE3_ALIGN: u64 = 4;
/// Largest Lite³ buffer (offsets are u32).
pub const LITE3_BUF_MAX: u64 = u32::MAX as u64;
/// Bits of `gen_type` holding the type; the generation counter is above them.
pub const LITE3_TYPE_BITS: u64 = 8;
/// Bits of `size_kc` holding the node's key count; the container's element count is above them.
pub const LITE3_KC_BITS: u64 = 6;
/// Mask of the key count in `size_kc` (only bits 0..2 are ever set).
pub const LITE3_KC_MASK: u64 = 0x7;
/// Value type byte: null.
pub const LITE3_NULL: u8 = 0;
/// Value type byte: bool (1 payload byte, 0 or 1).
pub const LITE3_BOOL: u8 = 1;
/// Value type byte: i64 (8 bytes LE).
pub const LITE3_I64: u8 = 2;
/// Value type byte: f64 (8 bytes LE).
pub const LITE3_F64: u8 = 3;
/// Value type byte: bytes (u32 length, bytes).
pub const LITE3_BYTES: u8 = 4;
/// Value type byte: string (u32 size incl. NUL, bytes, NUL).
pub const LITE3_STRING: u8 = 5;
/// Value type byte: object (the byte is the first byte of the object's node).
pub const LITE3_OBJECT: u8 = 6;
/// Value type byte: array (the byte is the first byte of the array's node).
pub const LITE3_ARRAY: u8 = 7;

/// A Lite³ node: the root of a container, or one of its B-tree nodes.
#[derive(
    FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy, Debug, PartialEq, Eq,
)]
#[repr(C)]
pub struct RawLite3Node {
    /// Bits 0..8: type ([`LITE3_OBJECT`] / [`LITE3_ARRAY`]); bits 8..32: generation counter.
    pub gen_type: U32,
    /// Key hashes (object) or element indices (array), ascending; `[0..kc)` meaningful.
    pub hashes: [U32; 7],
    /// Bits 0..6: key count of this node; bits 6..32: element count (container root only).
    pub size_kc: U32,
    /// Offsets of the entries for `hashes`.
    pub kv_ofs: [U32; 7],
    /// Child node offsets; `child_ofs[0] == 0` ⇔ leaf.
    pub child_ofs: [U32; 8],
}

const _: () = {
    assert!(size_of::<RawLite3Node>() as u64 == LITE3_NODE_SIZE);
    assert!(off(offset_of!(RawLite3Node, gen_type)) == 0);
    assert!(off(offset_of!(RawLite3Node, hashes)) == 4);
    assert!(off(offset_of!(RawLite3Node, size_kc)) == 32);
    assert!(off(offset_of!(RawLite3Node, kv_ofs)) == 36);
    assert!(off(offset_of!(RawLite3Node, child_ofs)) == 64);
    assert!(LITE3_NODE_SIZE == 1 + LITE3_ALIGNED_PAYLOAD);
};
