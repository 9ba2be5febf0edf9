//! Reading one frame at a ring offset, probing the index, and locating a message by sequence.
//!
//! Role: the single place that decides what sits at a ring offset — a message, a wrap, a frame
//! still being written, or bytes that are not a valid frame — and the seq → frame lookup built
//! on it.
//!
//! # Invariants
//! - A [`Slot::Message`] has a valid header in state Committed, lies entirely inside the ring,
//!   and is followed by an intact commit marker. Its payload's CRC is *not* checked here (that
//!   needs the payload; see [`crate::frame::FrameHead::verify_payload`]).
//! - Fewer than 64 bytes before the ring end read as a wrap (the implicit wrap), like a marker.
//! - [`locate`] only returns a frame whose header carries the requested sequence; the index is a
//!   hint that is verified, never trusted.
//!
//! Spec: `spec/FORMAT.md` §3 (index rule), §6 (readers).

use crate::cursor::{Cursor, Step};
use crate::error::{Corrupt, CorruptKind};
use crate::frame::{FrameHead, FrameState};
use crate::header::Geometry;
use crate::layout::{
    COMMIT_MARKER, FRAME_ALIGN, FRAME_HEADER_LEN, FRAME_HEADER_SIZE, INDEX_SLOT_LEN, RawIndexSlot,
};
use crate::view::PoolView;
use zerocopy::FromBytes;

/// A committed message frame found in the ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRef {
    /// Ring-relative offset of the frame header.
    pub offset: u64,
    /// The validated header.
    pub head: FrameHead,
    /// Ring-relative offset right after this frame (0 when it ends exactly at the ring end).
    pub next: u64,
}

impl FrameRef {
    /// The message sequence.
    pub const fn seq(&self) -> u64 {
        self.head.seq
    }

    /// File offset of the payload's first byte.
    pub fn payload_file_offset(&self, geo: &Geometry) -> u64 {
        geo.file_offset(self.offset)
            .saturating_add(FRAME_HEADER_SIZE)
    }

    /// Copies the payload into `dst` (which must be exactly `payload_len` long) and checks its
    /// CRC when the frame has one.
    pub fn read_payload<V: PoolView + ?Sized>(
        &self,
        view: &V,
        dst: &mut [u8],
    ) -> Result<(), Corrupt> {
        let truncated = Corrupt::ring(CorruptKind::Truncated, self.offset);
        if dst.len() as u64 != u64::from(self.head.payload_len) {
            return Err(truncated);
        }
        if !view.read(self.payload_file_offset(view.geometry()), dst) {
            return Err(truncated);
        }
        self.head.verify_payload(dst, self.offset)
    }

    /// Checks the payload's CRC, reading it through the view in small pieces (no buffer the
    /// size of the payload). `Ok(false)` when the frame carries no CRC.
    pub fn verify_crc<V: PoolView + ?Sized>(&self, view: &V) -> Result<bool, Corrupt> {
        if !self.head.has_crc() {
            return Ok(false);
        }
        let mut hasher = crc32fast::Hasher::new();
        let mut buf = [0u8; 512];
        let mut at = self.payload_file_offset(view.geometry());
        let mut left = u64::from(self.head.payload_len);
        while left > 0 {
            let n = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
            let chunk = buf
                .get_mut(..n)
                .ok_or(Corrupt::ring(CorruptKind::Truncated, self.offset))?;
            if !view.read(at, chunk) {
                return Err(Corrupt::ring(CorruptKind::Truncated, self.offset));
            }
            hasher.update(chunk);
            at = at.saturating_add(n as u64);
            left = left.saturating_sub(n as u64);
        }
        if hasher.finalize() != self.head.crc {
            return Err(Corrupt::ring(CorruptKind::Checksum, self.offset));
        }
        Ok(true)
    }
}

/// What sits at a ring offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// A committed message.
    Message(FrameRef),
    /// A wrap: a Wrap marker, or (`implicit`) fewer than 64 bytes left before the ring end.
    Wrap {
        /// No marker, just the end-of-ring gap.
        implicit: bool,
    },
    /// A frame header in state Writing or Empty: not visible (yet).
    Pending,
    /// Not a valid frame (overwritten since, or damaged).
    Invalid(Corrupt),
}

/// Reads what sits at ring offset `off`.
pub fn read_frame_at<V: PoolView + ?Sized>(view: &V, off: u64) -> Slot {
    let geo = *view.geometry();
    if off >= geo.ring_size || !off.is_multiple_of(FRAME_ALIGN) {
        return Slot::Invalid(Corrupt::ring(CorruptKind::OffsetOutOfRange, off));
    }
    // off < ring_size (checked above).
    if geo.ring_size.saturating_sub(off) < FRAME_HEADER_SIZE {
        return Slot::Wrap { implicit: true };
    }
    let mut buf = [0u8; FRAME_HEADER_LEN];
    if !view.read(geo.file_offset(off), &mut buf) {
        return Slot::Invalid(Corrupt::ring(CorruptKind::Truncated, off));
    }
    let head = match FrameHead::parse(&buf, geo.ring_size, off) {
        Ok(h) => h,
        Err(c) => return Slot::Invalid(c),
    };
    match head.state {
        FrameState::Wrap => return Slot::Wrap { implicit: false },
        FrameState::Empty | FrameState::Writing => return Slot::Pending,
        FrameState::Committed => {}
    }
    let len = head.frame_len();
    let end = off.saturating_add(len);
    if end > geo.ring_size {
        return Slot::Invalid(Corrupt::ring(CorruptKind::FramePastRingEnd, off));
    }
    let mut marker = [0u8; COMMIT_MARKER.len()];
    let marker_at = geo
        .file_offset(off)
        .saturating_add(FRAME_HEADER_SIZE + u64::from(head.payload_len));
    if !view.read(marker_at, &mut marker) || marker != COMMIT_MARKER {
        return Slot::Invalid(Corrupt::ring(CorruptKind::CommitMarker, off));
    }
    let next = if end == geo.ring_size { 0 } else { end };
    Slot::Message(FrameRef {
        offset: off,
        head,
        next,
    })
}

/// Reads the message that starts at `off`, following at most one wrap (marker or implicit).
pub fn read_message_at<V: PoolView + ?Sized>(view: &V, off: u64) -> Result<FrameRef, Corrupt> {
    let mut at = off;
    let mut wrapped = false;
    loop {
        match read_frame_at(view, at) {
            Slot::Message(f) => return Ok(f),
            Slot::Wrap { .. } if !wrapped => {
                wrapped = true;
                at = 0;
            }
            Slot::Wrap { .. } => return Err(Corrupt::ring(CorruptKind::DoubleWrap, at)),
            Slot::Pending => return Err(Corrupt::ring(CorruptKind::FrameNotCommitted, at)),
            Slot::Invalid(c) => return Err(c),
        }
    }
}

/// What index slot `slot` holds: `(seq, ring offset)`, or `None` when the pool has no such slot.
pub fn index_slot<V: PoolView + ?Sized>(view: &V, slot: u64) -> Option<(u64, u64)> {
    let at = view.geometry().index_slot_offset(slot)?;
    let mut buf = [0u8; INDEX_SLOT_LEN];
    if !view.read(at, &mut buf) {
        return None;
    }
    let raw = RawIndexSlot::read_from_bytes(&buf).ok()?;
    Some((raw.seq.get(), raw.offset.get()))
}

/// The index slot a sequence is recorded in (`seq mod capacity`), or `None` without an index.
pub fn index_slot_for(geo: &Geometry, seq: u64) -> Option<u64> {
    seq.checked_rem(u64::from(geo.index_capacity))
}

/// Looks `seq` up in the index and verifies the frame it points at. `None` when the index has
/// no usable entry for it (absent, stale, or pointing at something else).
pub fn probe_index<V: PoolView + ?Sized>(view: &V, seq: u64) -> Option<FrameRef> {
    let (slot_seq, off) = index_slot(view, index_slot_for(view.geometry(), seq)?)?;
    if slot_seq != seq {
        return None;
    }
    match read_frame_at(view, off) {
        Slot::Message(f) if f.seq() == seq => Some(f),
        _ => None,
    }
}

/// Finds the frame of message `seq`: index probe first, then a walk from the tail.
///
/// `Ok(None)` when the message is not retained (never written, or evicted — also while the
/// walk runs). A damaged frame between the tail and `seq` is `Err(Corrupt)` naming its offset;
/// with a view onto a pool that writers are changing, confirm that verdict under the writer
/// lock, where the ring cannot move.
pub fn locate<V: PoolView + ?Sized>(view: &V, seq: u64) -> Result<Option<FrameRef>, Corrupt> {
    let state = view.published()?.state;
    if !state.retains(seq) {
        return Ok(None);
    }
    if let Some(f) = probe_index(view, seq) {
        return Ok(Some(f));
    }
    let mut cursor = Cursor::oldest(&state).without_relocation();
    loop {
        match cursor.next(view)? {
            Step::Message(f) if f.seq() == seq => return Ok(Some(f)),
            Step::Message(_) => {}
            Step::CaughtUp => return Ok(None),
            Step::Gap { .. } if cursor.expected_seq() > seq => return Ok(None),
            Step::Gap { .. } => {}
        }
    }
}
