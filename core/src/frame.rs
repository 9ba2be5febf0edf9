//! Frames: the 64-byte frame header, its one checked parse, encoding, lengths and checksums.
//!
//! Role: decides whether 64 bytes are a frame header and what they say; builds the headers a
//! writer stores (Writing, Committed, Wrap).
//!
//! # Invariants
//! - [`FrameHead::parse`] is the only way from bytes to a `FrameHead`; after `Ok`,
//!   `frame_len()` cannot overflow and is at most `ring_size`, and the flags hold only known bits.
//! - The state word is decoded into [`FrameState`]; an unknown value is corruption, never a cast.
//! - Frames written by this crate always carry [`FRAME_FLAG_CRC32`] and the payload's CRC-32.
//!
//! Spec: `spec/FORMAT.md` §4 (frames), §4.4 (checksum extension).

use crate::error::{Corrupt, CorruptKind};
use crate::layout::{
    COMMIT_MARKER_SIZE, FRAME_ALIGN, FRAME_FLAG_CRC32, FRAME_FLAGS_KNOWN, FRAME_HEADER_LEN_WORD,
    FRAME_HEADER_SIZE, FRAME_MAGIC, MAX_PAYLOAD, RawFrameHeader, STATE_COMMITTED, STATE_EMPTY,
    STATE_WRAP, STATE_WRITING,
};
use zerocopy::little_endian::{U32, U64};
use zerocopy::{FromBytes, IntoBytes};

/// The decoded state word of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameState {
    /// 0: never written explicitly.
    Empty,
    /// 1: the writer is still copying payload or marker.
    Writing,
    /// 2: complete.
    Committed,
    /// 3: continue at ring offset 0.
    Wrap,
}

impl FrameState {
    /// Decodes a raw state word.
    pub const fn from_word(word: u32) -> Option<FrameState> {
        match word {
            STATE_EMPTY => Some(FrameState::Empty),
            STATE_WRITING => Some(FrameState::Writing),
            STATE_COMMITTED => Some(FrameState::Committed),
            STATE_WRAP => Some(FrameState::Wrap),
            _ => None,
        }
    }

    /// The raw state word.
    pub const fn word(self) -> u32 {
        match self {
            FrameState::Empty => STATE_EMPTY,
            FrameState::Writing => STATE_WRITING,
            FrameState::Committed => STATE_COMMITTED,
            FrameState::Wrap => STATE_WRAP,
        }
    }
}

/// `align8(64 + payload_len + 8)`: the ring bytes a frame with this payload occupies, or `None`
/// on overflow.
pub const fn frame_len(payload_len: u64) -> Option<u64> {
    match payload_len.checked_add(FRAME_HEADER_SIZE + COMMIT_MARKER_SIZE + FRAME_ALIGN - 1) {
        Some(n) => Some(n & !(FRAME_ALIGN - 1)),
        None => None,
    }
}

/// Largest payload a frame in a ring of `ring_size` bytes may carry: `min(ring_size − 72,
/// 256 MiB)` as the reference states it, further limited so that the 8-aligned frame length
/// fits the ring (`frame_len ≤ ring_size`, which the reference checks separately).
pub const fn max_payload(ring_size: u64) -> u64 {
    let aligned = ring_size & !(FRAME_ALIGN - 1);
    let fit = aligned.saturating_sub(FRAME_HEADER_SIZE + COMMIT_MARKER_SIZE);
    if fit < MAX_PAYLOAD { fit } else { MAX_PAYLOAD }
}

/// CRC-32 (IEEE, reflected, as `crc32fast`) of a payload.
pub fn payload_crc(payload: &[u8]) -> u32 {
    crc32fast::hash(payload)
}

/// A validated frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHead {
    /// Decoded state.
    pub state: FrameState,
    /// Flags (only known bits).
    pub flags: u32,
    /// Sequence (0 for wrap markers).
    pub seq: u64,
    /// Append time in Unix nanoseconds.
    pub timestamp_ns: u64,
    /// Payload length.
    pub payload_len: u32,
    /// CRC-32 of the payload when [`FrameHead::has_crc`], else 0.
    pub crc: u32,
}

impl FrameHead {
    /// Parses and validates a frame header found at ring offset `off` of a ring of
    /// `ring_size` bytes. `bytes` must hold at least 64 bytes.
    pub fn parse(bytes: &[u8], ring_size: u64, off: u64) -> Result<FrameHead, Corrupt> {
        let bad = |kind| Corrupt::ring(kind, off);
        let (raw, _) =
            RawFrameHeader::read_from_prefix(bytes).map_err(|_| bad(CorruptKind::Truncated))?;
        if raw.magic != FRAME_MAGIC {
            return Err(bad(CorruptKind::FrameMagic));
        }
        let state = FrameState::from_word(raw.state.get()).ok_or(bad(CorruptKind::FrameState))?;
        if raw.header_len.get() != FRAME_HEADER_LEN_WORD {
            return Err(bad(CorruptKind::FrameHeaderLen));
        }
        let payload_len = raw.payload_len.get();
        if payload_len ^ raw.payload_len_xor.get() != u32::MAX {
            return Err(bad(CorruptKind::FrameLengthGuard));
        }
        let max_payload = max_payload(ring_size);
        if u64::from(payload_len) > max_payload {
            return Err(bad(CorruptKind::FramePayloadTooLarge));
        }
        let flags = raw.flags.get();
        if flags & !FRAME_FLAGS_KNOWN != 0 {
            return Err(bad(CorruptKind::FrameFlags));
        }
        let crc = raw.crc.get();
        if flags & FRAME_FLAG_CRC32 == 0 && crc != 0 {
            return Err(bad(CorruptKind::FrameCrcWithoutFlag));
        }
        if raw.reserved.iter().any(|&b| b != 0) {
            return Err(bad(CorruptKind::FrameReserved));
        }
        let head = FrameHead {
            state,
            flags,
            seq: raw.seq.get(),
            timestamp_ns: raw.timestamp_ns.get(),
            payload_len,
            crc,
        };
        match frame_len(u64::from(payload_len)) {
            Some(len) if len <= ring_size => Ok(head),
            _ => Err(bad(CorruptKind::FramePayloadTooLarge)),
        }
    }

    /// The header of a new message frame, in state Writing, carrying the payload's CRC-32.
    pub fn message(seq: u64, timestamp_ns: u64, payload_len: u32, crc: u32) -> FrameHead {
        FrameHead {
            state: FrameState::Writing,
            flags: FRAME_FLAG_CRC32,
            seq,
            timestamp_ns,
            payload_len,
            crc,
        }
    }

    /// The wrap marker header (state Wrap, everything else zero, length guard of length 0).
    pub const fn wrap() -> FrameHead {
        FrameHead {
            state: FrameState::Wrap,
            flags: 0,
            seq: 0,
            timestamp_ns: 0,
            payload_len: 0,
            crc: 0,
        }
    }

    /// Does the `crc` field hold a checksum to verify?
    pub const fn has_crc(&self) -> bool {
        self.flags & FRAME_FLAG_CRC32 != 0
    }

    /// Ring bytes this frame occupies.
    pub const fn frame_len(&self) -> u64 {
        // payload_len ≤ u32::MAX, so this cannot overflow u64 (and the fallback is unreachable).
        match frame_len(self.payload_len as u64) {
            Some(n) => n,
            None => u64::MAX,
        }
    }

    /// Checks a payload against the frame's CRC, when the frame has one. `off` is the frame's
    /// ring offset, for the error.
    pub fn verify_payload(&self, payload: &[u8], off: u64) -> Result<(), Corrupt> {
        if self.has_crc() && payload_crc(payload) != self.crc {
            return Err(Corrupt::ring(CorruptKind::Checksum, off));
        }
        Ok(())
    }

    /// The 64 bytes of this header.
    pub fn encode(&self) -> [u8; 64] {
        let raw = RawFrameHeader {
            magic: FRAME_MAGIC,
            state: U32::new(self.state.word()),
            flags: U32::new(self.flags),
            header_len: U32::new(FRAME_HEADER_LEN_WORD),
            seq: U64::new(self.seq),
            timestamp_ns: U64::new(self.timestamp_ns),
            payload_len: U32::new(self.payload_len),
            payload_len_xor: U32::new(self.payload_len ^ u32::MAX),
            crc: U32::new(self.crc),
            reserved: [0; 20],
        };
        let mut out = [0u8; 64];
        out.copy_from_slice(raw.as_bytes());
        out
    }

    /// The first 8 bytes of this header (magic and state word) as a little-endian word: the
    /// word a writer stores last to commit a frame.
    pub fn first_word(&self) -> u64 {
        u64::from(u32::from_le_bytes(FRAME_MAGIC)) | (u64::from(self.state.word()) << 32)
    }
}
