//! The pool header: geometry, ring state, the state journal, and the one checked parse.
//!
//! Role: turns the first 4096 bytes of a pool file into a validated [`Header`], builds fresh
//! headers for new pools, and defines [`RingState`], the five words every other module reasons
//! about.
//!
//! # Invariants
//! - [`Header::parse`] is the only way from bytes to a `Header`; once it returns `Ok`, the
//!   geometry is self-consistent (`ring_offset + ring_size == file_size`, ring non-empty) and the
//!   effective ring state passes [`RingState::check`].
//! - The effective ring state is the v3 fields unless `state_gen` is odd and the journal is ahead
//!   of them (see [`journal_effective`]); a v3 writer that knows nothing of the journal always
//!   advances `newest_seq` and moves `head_off`, so its updates win over a stale journal.
//!
//! Spec: `spec/FORMAT.md` §2 (header), §2.3 (state journal), §7 (create).

use crate::error::{Corrupt, CorruptKind, HeaderError, LayoutError};
use crate::layout::{
    self, ENDIAN_LITTLE, FORMAT_VERSION, HEADER_LEN, HEADER_SIZE, HEADER_USED_END, INDEX_OFFSET,
    INDEX_SLOT_SIZE, POOL_MAGIC, RawPoolHeader, RawRingState,
};
use zerocopy::little_endian::{U32, U64};
use zerocopy::{FromBytes, IntoBytes};

/// Where the ring lives in the file. Fixed at creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Total file length.
    pub file_size: u64,
    /// Number of index slots (0 = no index).
    pub index_capacity: u32,
    /// File offset of ring offset 0.
    pub ring_offset: u64,
    /// Length of the ring in bytes (> 0).
    pub ring_size: u64,
}

impl Geometry {
    /// The index capacity the reference picks when none is given: one slot per 256 bytes of
    /// file, at most 65 536, and never eating into the last 1 KiB of ring.
    pub fn auto_index_capacity(file_size: u64) -> u64 {
        let candidate =
            (file_size / layout::INDEX_AUTO_BYTES_PER_SLOT).min(layout::INDEX_AUTO_MAX_SLOTS);
        if candidate == 0 {
            return 0;
        }
        let budget = file_size.saturating_sub(HEADER_SIZE + layout::INDEX_AUTO_RING_RESERVE)
            / INDEX_SLOT_SIZE;
        candidate.min(budget)
    }

    /// The layout of a new pool of `file_size` bytes with `index_capacity` slots (auto rule
    /// when `None`).
    pub fn new(file_size: u64, index_capacity: Option<u64>) -> Result<Geometry, LayoutError> {
        let cap = index_capacity.unwrap_or_else(|| Self::auto_index_capacity(file_size));
        let index_capacity = u32::try_from(cap).map_err(|_| LayoutError::IndexTooLarge)?;
        let ring_offset = u64::from(index_capacity)
            .checked_mul(INDEX_SLOT_SIZE)
            .and_then(|n| n.checked_add(INDEX_OFFSET))
            .ok_or(LayoutError::IndexTooLarge)?;
        if file_size <= ring_offset {
            return Err(LayoutError::FileTooSmall {
                min_size: ring_offset.saturating_add(1),
            });
        }
        Ok(Geometry {
            file_size,
            index_capacity,
            ring_offset,
            ring_size: file_size.saturating_sub(ring_offset),
        })
    }

    /// Largest payload a frame in this ring may carry (see [`crate::frame::max_payload`]).
    pub fn max_payload(&self) -> u64 {
        crate::frame::max_payload(self.ring_size)
    }

    /// File offset of a ring-relative offset (saturating; callers bound-check reads).
    pub fn file_offset(&self, ring_off: u64) -> u64 {
        self.ring_offset.saturating_add(ring_off)
    }

    /// File offset of index slot `slot`, if the index has such a slot.
    pub fn index_slot_offset(&self, slot: u64) -> Option<u64> {
        // slot < 2^32, so 16 × slot + 4096 cannot overflow.
        (slot < u64::from(self.index_capacity)).then(|| {
            slot.saturating_mul(INDEX_SLOT_SIZE)
                .saturating_add(INDEX_OFFSET)
        })
    }
}

/// The five words that say where the live messages are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RingState {
    /// Where the next frame goes.
    pub head: u64,
    /// The oldest retained frame (or the wrap before it).
    pub tail: u64,
    /// The frame after the tail frame (0 when the tail is a wrap).
    pub tail_next: u64,
    /// Oldest retained sequence; 0 ⇔ empty.
    pub oldest: u64,
    /// Newest sequence ever committed.
    pub newest: u64,
}

impl RingState {
    /// `oldest == 0`: nothing is retained.
    pub const fn is_empty(&self) -> bool {
        self.oldest == 0
    }

    /// `head == tail` with messages retained: the ring is in its full state.
    pub const fn is_full(&self) -> bool {
        !self.is_empty() && self.head == self.tail
    }

    /// Is `seq` retained?
    pub const fn retains(&self, seq: u64) -> bool {
        !self.is_empty() && self.oldest <= seq && seq <= self.newest
    }

    /// Number of retained messages.
    pub const fn count(&self) -> u64 {
        if self.is_empty() {
            0
        } else {
            self.newest.saturating_sub(self.oldest).saturating_add(1)
        }
    }

    /// Ring bytes between tail and head, as the reference counts them (the full state counts
    /// the whole ring).
    pub fn used_bytes(&self, ring_size: u64) -> u64 {
        if self.head == self.tail {
            if self.is_empty() { 0 } else { ring_size }
        } else if self.head > self.tail {
            self.head.saturating_sub(self.tail)
        } else {
            ring_size.saturating_sub(self.tail.saturating_sub(self.head))
        }
    }

    /// Checks the state against the geometry; `at` is the file offset of the words checked
    /// (the v3 fields or the journal), used to say where a problem is.
    pub fn check(&self, geo: &Geometry, at: u64) -> Result<(), Corrupt> {
        for (field_at, v) in [
            (at, self.head),
            (at.saturating_add(8), self.tail),
            (at.saturating_add(16), self.tail_next),
        ] {
            if v >= geo.ring_size {
                return Err(Corrupt::header(CorruptKind::OffsetOutOfRange, field_at));
            }
            if v % layout::FRAME_ALIGN != 0 {
                return Err(Corrupt::header(CorruptKind::OffsetMisaligned, field_at));
            }
        }
        if self.newest == u64::MAX {
            return Err(Corrupt::header(
                CorruptKind::SeqSpaceExhausted,
                at.saturating_add(32),
            ));
        }
        if self.is_empty() {
            if self.head != self.tail || self.tail != self.tail_next {
                return Err(Corrupt::header(CorruptKind::EmptyOffsetsDiffer, at));
            }
        } else if self.oldest > self.newest {
            return Err(Corrupt::header(
                CorruptKind::SeqBoundsInverted,
                at.saturating_add(24),
            ));
        }
        Ok(())
    }

    /// Reads the five words.
    pub fn from_raw(raw: &RawRingState) -> RingState {
        RingState {
            head: raw.head_off.get(),
            tail: raw.tail_off.get(),
            tail_next: raw.tail_next_off.get(),
            oldest: raw.oldest_seq.get(),
            newest: raw.newest_seq.get(),
        }
    }

    /// The five words as stored, in file order (head, tail, tail_next, oldest, newest).
    pub const fn words(&self) -> [u64; 5] {
        [
            self.head,
            self.tail,
            self.tail_next,
            self.oldest,
            self.newest,
        ]
    }

    fn to_raw(self) -> RawRingState {
        RawRingState {
            head_off: U64::new(self.head),
            tail_off: U64::new(self.tail),
            tail_next_off: U64::new(self.tail_next),
            oldest_seq: U64::new(self.oldest),
            newest_seq: U64::new(self.newest),
        }
    }
}

/// Is the journal the effective ring state? Only while an update is in flight (odd
/// `generation`) and the journal is ahead of the fields: newer (`newest` is stored last, so
/// a publish that has not reached it yet), or as new with the same head (a publish that only
/// evicts, which never moves the head).
///
/// Not "odd ⇒ journal" alone: a v3 writer that does not know the journal may append after one
/// of ours died mid-update. It leaves `generation` odd, but it always raises `newest_seq` and
/// moves `head_off`, so its fields win. (Its append can tie with the journal's `newest` and
/// `head` only if it planned the same frame from the same state, and then both agree.)
pub const fn journal_effective(fields: &RingState, generation: u64, journal: &RingState) -> bool {
    generation % 2 == 1
        && (journal.newest > fields.newest
            || (journal.newest == fields.newest && journal.head == fields.head))
}

/// A ring state together with the `state_gen` it was read under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Published {
    /// The effective ring state.
    pub state: RingState,
    /// `state_gen` when it was read; writers continue from here.
    pub generation: u64,
    /// The state was read from the journal (an update is in flight or was cut short).
    pub from_journal: bool,
}

impl Published {
    /// The effective state of the v3 fields and the journal read under `generation` (see
    /// [`journal_effective`]).
    pub const fn resolve(fields: RingState, generation: u64, journal: RingState) -> Published {
        let from_journal = journal_effective(&fields, generation, &journal);
        Published {
            state: if from_journal { journal } else { fields },
            generation,
            from_journal,
        }
    }

    /// File offset of the words the state was read from, for error locations.
    pub const fn state_offset(&self) -> u64 {
        if self.from_journal {
            layout::JOURNAL_OFFSET
        } else {
            layout::RING_STATE_OFFSET
        }
    }
}

/// A validated pool header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Layout of the file.
    pub geometry: Geometry,
    /// The v3 ring-state fields as stored.
    pub fields: RingState,
    /// The extension's generation word.
    pub state_gen: u64,
    /// The extension's journal as stored.
    pub journal: RingState,
    /// Readers waiting for a wake-up (extension).
    pub waiters: u32,
    /// Wake word (extension).
    pub wake: u32,
}

impl Header {
    /// Parses and validates the header block (`bytes` must hold at least its 4096 bytes);
    /// `file_len` is the actual file length.
    pub fn parse(bytes: &[u8], file_len: u64) -> Result<Header, HeaderError> {
        let trunc = || Corrupt::header(CorruptKind::Truncated, bytes.len() as u64);
        let block = bytes.get(..HEADER_LEN).ok_or_else(trunc)?;
        let (raw, rest) = RawPoolHeader::read_from_prefix(block).map_err(|_| trunc())?;
        if raw.magic != POOL_MAGIC {
            return Err(Corrupt::header(CorruptKind::BadMagic, 0).into());
        }
        if raw.version.get() != FORMAT_VERSION {
            return Err(HeaderError::UnsupportedVersion {
                found: raw.version.get(),
            });
        }
        if raw.endianness != ENDIAN_LITTLE {
            return Err(Corrupt::header(CorruptKind::BadEndianness, 8).into());
        }
        let file_size = raw.file_size.get();
        if file_size == 0 || file_size != file_len {
            return Err(Corrupt::header(CorruptKind::FileSize, 16).into());
        }
        if raw.index_offset.get() != INDEX_OFFSET {
            return Err(Corrupt::header(CorruptKind::IndexOffset, 24).into());
        }
        let index_capacity = raw.index_capacity.get();
        let ring_offset = raw.ring_offset.get();
        // index_capacity < 2^32, so this cannot overflow.
        if ring_offset
            != u64::from(index_capacity)
                .saturating_mul(INDEX_SLOT_SIZE)
                .saturating_add(INDEX_OFFSET)
        {
            return Err(Corrupt::header(CorruptKind::RingOffset, 40).into());
        }
        let ring_size = raw.ring_size.get();
        if ring_size == 0 || ring_offset.checked_add(ring_size) != Some(file_size) {
            return Err(Corrupt::header(CorruptKind::RingSize, 48).into());
        }
        if raw.flags.get() != 0 {
            return Err(Corrupt::header(CorruptKind::HeaderFlags, 56).into());
        }
        let reserved = [
            (9u64, &raw.reserved0[..]),
            (36, &raw.reserved1[..]),
            (HEADER_USED_END, rest),
        ];
        for (at, bytes) in reserved {
            if let Some(i) = bytes.iter().position(|&b| b != 0) {
                return Err(Corrupt::header(
                    CorruptKind::ReservedNotZero,
                    at.saturating_add(i as u64),
                )
                .into());
            }
        }
        let header = Header {
            geometry: Geometry {
                file_size,
                index_capacity,
                ring_offset,
                ring_size,
            },
            fields: RingState::from_raw(&raw.ring),
            state_gen: raw.state_gen.get(),
            journal: RingState::from_raw(&raw.journal),
            waiters: raw.waiters.get(),
            wake: raw.wake.get(),
        };
        let published = header.published();
        published
            .state
            .check(&header.geometry, published.state_offset())?;
        Ok(header)
    }

    /// The header of a freshly created, empty pool.
    pub fn new(geometry: Geometry) -> Header {
        Header {
            geometry,
            fields: RingState::default(),
            state_gen: 0,
            journal: RingState::default(),
            waiters: 0,
            wake: 0,
        }
    }

    /// The effective ring state and the generation it belongs to.
    pub fn published(&self) -> Published {
        Published::resolve(self.fields, self.state_gen, self.journal)
    }

    /// Did a writer die between starting and finishing a state update? (The next writer
    /// completes it; readers already use the journal.)
    pub fn update_interrupted(&self) -> bool {
        self.state_gen % 2 == 1
    }

    /// Writes the header block into `out` (its first 4096 bytes; the rest of the block is
    /// zeroed). Fails when `out` is shorter than the block.
    pub fn write_to(&self, out: &mut [u8]) -> Result<(), Corrupt> {
        let block = out
            .get_mut(..HEADER_LEN)
            .ok_or(Corrupt::header(CorruptKind::Truncated, 0))?;
        block.fill(0);
        let g = &self.geometry;
        let raw = RawPoolHeader {
            magic: POOL_MAGIC,
            version: U32::new(FORMAT_VERSION),
            endianness: ENDIAN_LITTLE,
            reserved0: [0; 7],
            file_size: U64::new(g.file_size),
            index_offset: U64::new(INDEX_OFFSET),
            index_capacity: U32::new(g.index_capacity),
            reserved1: [0; 4],
            ring_offset: U64::new(g.ring_offset),
            ring_size: U64::new(g.ring_size),
            flags: U64::new(0),
            ring: self.fields.to_raw(),
            state_gen: U64::new(self.state_gen),
            journal: self.journal.to_raw(),
            waiters: U32::new(self.waiters),
            wake: U32::new(self.wake),
        };
        raw.write_to_prefix(block)
            .map_err(|_| Corrupt::header(CorruptKind::Truncated, 0))
    }
}
