//! Error types of the format core: corrupt bytes, unsupported files, impossible requests.
//!
//! Role: small `Copy` values that say what is wrong and where, so callers (the `os` crate, the
//! fuzzers, embedders) can turn them into user-facing messages with hints without allocating.
//!
//! # Invariants
//! - Corrupt data ([`Corrupt`]) and impossible requests ([`PlanError::TooLarge`]) are different
//!   types; a version we do not support ([`HeaderError::UnsupportedVersion`]) is neither.
//! - Every [`Corrupt`] names where the bad bytes are ([`Location`]).
//!
//! Spec: `spec/FORMAT.md` §8 (validation rules name these failures).

use core::fmt;

/// Where in the file a problem was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A byte offset inside the 4096-byte header block.
    Header {
        /// File offset.
        offset: u64,
    },
    /// An index slot.
    Index {
        /// Slot number.
        slot: u64,
    },
    /// A ring-relative offset (as `head_off`, `tail_off` and index slots count them).
    Ring {
        /// Ring-relative offset.
        offset: u64,
    },
}

/// What is wrong with bytes that claim to be part of a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorruptKind {
    /// The file or buffer ends before the structure does.
    Truncated,
    /// Header magic is not `PLSM`.
    BadMagic,
    /// Endianness byte is not 1.
    BadEndianness,
    /// Header `file_size` is 0 or differs from the actual length.
    FileSize,
    /// Header `index_offset` is not 4096.
    IndexOffset,
    /// Header `ring_offset` does not follow from the index capacity.
    RingOffset,
    /// Header `ring_size` is 0 or does not reach exactly the end of the file.
    RingSize,
    /// Header `flags` has bits set; none are defined.
    HeaderFlags,
    /// A reserved header byte is not zero.
    ReservedNotZero,
    /// `head_off`, `tail_off` or `tail_next_off` is not inside the ring.
    OffsetOutOfRange,
    /// `head_off`, `tail_off` or `tail_next_off` is not a multiple of 8.
    OffsetMisaligned,
    /// `oldest_seq > newest_seq` in a non-empty pool.
    SeqBoundsInverted,
    /// An empty pool (`oldest_seq == 0`) whose head, tail and tail-next differ.
    EmptyOffsetsDiffer,
    /// `newest_seq` is `u64::MAX`: no writer gets there, and no next sequence exists.
    SeqSpaceExhausted,
    /// Frame magic is not `FRM1`.
    FrameMagic,
    /// Frame state word is not one of the four states.
    FrameState,
    /// Frame `header_len` is not 64.
    FrameHeaderLen,
    /// `payload_len ^ payload_len_xor != 0xFFFF_FFFF` (torn or damaged length).
    FrameLengthGuard,
    /// Payload longer than the ring (or 256 MiB) allows.
    FramePayloadTooLarge,
    /// The frame would extend past the end of the ring.
    FramePastRingEnd,
    /// Frame flags carry bits this implementation does not define.
    FrameFlags,
    /// Frame `crc` is non-zero although the CRC flag is clear.
    FrameCrcWithoutFlag,
    /// Reserved frame header bytes are not zero.
    FrameReserved,
    /// The commit marker after the payload is missing or damaged.
    CommitMarker,
    /// The payload does not match the frame's CRC-32.
    Checksum,
    /// A frame that must be committed is still being written (or was never finished).
    FrameNotCommitted,
    /// The frame where a message was expected holds another sequence.
    SeqMismatch {
        /// The sequence the walk expected.
        expected: u64,
        /// The sequence the frame holds.
        found: u64,
    },
    /// A wrap (marker or end-of-ring gap) right after another wrap.
    DoubleWrap,
    /// The newest message does not end where `head_off` says the next frame goes.
    HeadMismatch {
        /// Where the newest frame ends.
        expected: u64,
    },
    /// `tail_next_off` is not the offset of the frame after the tail.
    TailNextMismatch {
        /// The value the tail frame implies.
        expected: u64,
    },
    /// The walk from tail to head took more steps than the ring can hold frames.
    WalkTooLong,
}

/// Corrupt bytes: what and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corrupt {
    /// What is wrong.
    pub kind: CorruptKind,
    /// Where.
    pub at: Location,
}

impl Corrupt {
    /// Corruption at a header file offset.
    pub const fn header(kind: CorruptKind, offset: u64) -> Self {
        Corrupt {
            kind,
            at: Location::Header { offset },
        }
    }

    /// Corruption at a ring-relative offset.
    pub const fn ring(kind: CorruptKind, offset: u64) -> Self {
        Corrupt {
            kind,
            at: Location::Ring { offset },
        }
    }

    /// The ring-relative offset, when the problem lies in the ring.
    pub const fn ring_offset(&self) -> Option<u64> {
        match self.at {
            Location::Ring { offset } => Some(offset),
            _ => None,
        }
    }
}

/// Why a header cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// The header (or the state it describes) is damaged.
    Corrupt(Corrupt),
    /// A well-formed pool header of a format version this crate does not support.
    UnsupportedVersion {
        /// The version found in the file.
        found: u32,
    },
}

impl From<Corrupt> for HeaderError {
    fn from(c: Corrupt) -> Self {
        HeaderError::Corrupt(c)
    }
}

/// Why a pool layout cannot be created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LayoutError {
    /// The file would leave no ring after the header and index.
    FileTooSmall {
        /// The smallest file size that works with this index capacity.
        min_size: u64,
    },
    /// The index capacity does not fit in the format's 32-bit field.
    IndexTooLarge,
}

/// Why a message cannot be appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanError {
    /// The payload can never fit in this pool (a request problem, not corruption).
    TooLarge {
        /// The payload length asked for.
        payload_len: u64,
        /// The largest payload this pool accepts.
        max: u64,
    },
    /// The ring state or a frame the planner had to read is damaged.
    Corrupt(Corrupt),
}

impl From<Corrupt> for PlanError {
    fn from(c: Corrupt) -> Self {
        PlanError::Corrupt(c)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Header { offset } => write!(f, "header offset {offset}"),
            Location::Index { slot } => write!(f, "index slot {slot}"),
            Location::Ring { offset } => write!(f, "ring offset {offset}"),
        }
    }
}

impl fmt::Display for CorruptKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use CorruptKind as K;
        match self {
            K::Truncated => f.write_str("truncated"),
            K::BadMagic => f.write_str("bad magic"),
            K::BadEndianness => f.write_str("unsupported endianness"),
            K::FileSize => f.write_str("invalid file size"),
            K::IndexOffset => f.write_str("invalid index offset"),
            K::RingOffset => f.write_str("ring offset mismatch"),
            K::RingSize => f.write_str("ring bounds mismatch"),
            K::HeaderFlags => f.write_str("unknown header flags"),
            K::ReservedNotZero => f.write_str("reserved header bytes are not zero"),
            K::OffsetOutOfRange => f.write_str("ring offset out of range"),
            K::OffsetMisaligned => f.write_str("ring offset not 8-byte aligned"),
            K::SeqBoundsInverted => f.write_str("seq bounds inverted"),
            K::EmptyOffsetsDiffer => f.write_str("empty pool with differing head/tail offsets"),
            K::SeqSpaceExhausted => f.write_str("newest seq at the end of the sequence space"),
            K::FrameMagic => f.write_str("frame header invalid: bad frame magic"),
            K::FrameState => f.write_str("frame header invalid: invalid frame state"),
            K::FrameHeaderLen => f.write_str("frame header invalid: bad header length"),
            K::FrameLengthGuard => f.write_str("frame header invalid: payload length xor mismatch"),
            K::FramePayloadTooLarge => f.write_str("frame header invalid: payload too large"),
            K::FramePastRingEnd => f.write_str("frame extends past the ring end"),
            K::FrameFlags => f.write_str("frame header invalid: unknown frame flags"),
            K::FrameCrcWithoutFlag => f.write_str("frame header invalid: crc set without crc flag"),
            K::FrameReserved => f.write_str("frame header invalid: reserved bytes not zero"),
            K::CommitMarker => f.write_str("commit marker missing"),
            K::Checksum => f.write_str("payload checksum mismatch"),
            K::FrameNotCommitted => f.write_str("frame not committed"),
            K::SeqMismatch { expected, found } => {
                write!(f, "seq mismatch (expected {expected}, found {found})")
            }
            K::DoubleWrap => f.write_str("wrap directly after a wrap"),
            K::HeadMismatch { expected } => {
                write!(f, "head offset mismatch (newest frame ends at {expected})")
            }
            K::TailNextMismatch { expected } => {
                write!(f, "tail_next offset mismatch (expected {expected})")
            }
            K::WalkTooLong => f.write_str("walk from tail does not reach head"),
        }
    }
}

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.kind, self.at)
    }
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Corrupt(c) => c.fmt(f),
            HeaderError::UnsupportedVersion { found } => write!(
                f,
                "unsupported pool format version {found} (supported: {})",
                crate::layout::FORMAT_VERSION
            ),
        }
    }
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::FileTooSmall { min_size } => write!(
                f,
                "file_size must exceed header and index size (at least {min_size} bytes)"
            ),
            LayoutError::IndexTooLarge => f.write_str("index capacity does not fit in 32 bits"),
        }
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::TooLarge { payload_len, max } => write!(
                f,
                "payload of {payload_len} bytes exceeds ring capacity (max {max} bytes)"
            ),
            PlanError::Corrupt(c) => c.fmt(f),
        }
    }
}

impl core::error::Error for Corrupt {}
impl core::error::Error for HeaderError {}
impl core::error::Error for LayoutError {}
impl core::error::Error for PlanError {}
