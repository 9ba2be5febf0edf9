//! Append planning and the ordered stores that carry a plan out.
//!
//! Role: [`plan_append`] is the pure planner — from a published ring state, the frames at the
//! tail, and a payload length it computes where the frame goes, whether a wrap marker is
//! needed, which messages are evicted, and the ring state before and after. [`AppendWrite`]
//! turns a plan plus payload into the exact, ordered list of [`Store`]s a writer performs; the
//! `os` crate executes them on the shared mapping and the crash tests stop them at every point.
//!
//! # Invariants
//! - The planner reproduces the reference's placement and eviction rules exactly, so both
//!   implementations produce the same ring states from the same appends.
//! - The new frame and the wrap marker never overlap a message that stays retained.
//! - Store order: (1) if messages are evicted, the evicted state is published before any byte
//!   of theirs is overwritten; (2) wrap marker, frame header in state Writing, payload, commit
//!   marker; (3) the frame's first word flips to Committed (release); (4) index slot; (5) the
//!   final state is published. Every prefix of this list leaves a pool that validates.
//! - Publishing a state = journal (5 words), `state_gen` odd (announce), the v3 fields
//!   (5 words), `state_gen` even (release). A cut anywhere leaves either the old state
//!   (generation even, fields untouched) or the new one (generation odd, journal complete; or generation even).
//!
//! Spec: `spec/FORMAT.md` §5 (planning), §5.3 (append protocol).

use crate::error::{Corrupt, CorruptKind, PlanError};
use crate::frame::{FrameHead, FrameState, frame_len};
use crate::header::{Published, RingState};
use crate::layout::{
    COMMIT_MARKER, FRAME_HEADER_SIZE, INDEX_SLOT_OFF_OFFSET, INDEX_SLOT_SEQ_OFFSET, JOURNAL_OFFSET,
    RING_STATE_OFFSET, STATE_GEN_OFFSET,
};
use crate::read::{Slot, index_slot_for, read_frame_at};
use crate::view::PoolView;

/// Everything an append will do, decided before any byte is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a plan does nothing until its stores are performed"]
pub struct Plan {
    /// Sequence the new message gets.
    pub seq: u64,
    /// Ring offset of the new frame.
    pub frame_off: u64,
    /// Ring bytes the new frame occupies.
    pub frame_len: u64,
    /// Payload length.
    pub payload_len: u32,
    /// Ring offset of the wrap marker to write first, if any.
    pub wrap_at: Option<u64>,
    /// The state the plan was made from.
    pub before: Published,
    /// The state to publish before overwriting evicted messages (`None`: nothing evicted).
    pub evicted: Option<RingState>,
    /// The state after the append.
    pub after: RingState,
    /// Number of messages evicted.
    pub dropped: u64,
}

/// Plans appending a payload of `payload_len` bytes to a pool whose published state is
/// `before`. Reads frame headers at the tail through `view` (the caller holds the writer lock).
pub fn plan_append<V: PoolView + ?Sized>(
    view: &V,
    before: Published,
    payload_len: u64,
) -> Result<Plan, PlanError> {
    let geo = *view.geometry();
    let ring = geo.ring_size;
    let max = geo.max_payload();
    if payload_len > max {
        return Err(PlanError::TooLarge { payload_len, max });
    }
    let too_large = PlanError::TooLarge { payload_len, max };
    let frame_len = frame_len(payload_len)
        .filter(|&l| l <= ring)
        .ok_or(too_large)?;
    let payload_len = u32::try_from(payload_len).map_err(|_| too_large)?;
    before.state.check(&geo, before.state_offset())?;

    let head = before.state.head;
    // head < ring (checked above).
    let rem = ring.saturating_sub(head);
    let wrap_required = rem < frame_len;
    let required = |s: &RingState| {
        if s.is_empty() || rem >= frame_len {
            frame_len
        } else if rem >= FRAME_HEADER_SIZE {
            frame_len.saturating_add(FRAME_HEADER_SIZE)
        } else {
            frame_len.saturating_add(rem)
        }
    };

    let mut s = before.state;
    let mut dropped = 0u64;
    // Each step advances the tail past one frame or one wrap (a wrap is never followed by a
    // wrap: `drop_tail` refuses one at offset 0), so more steps than the ring can hold frames
    // and wraps means the ring lies.
    let max_steps = (ring / FRAME_HEADER_SIZE)
        .saturating_add(2)
        .saturating_mul(2);
    let mut steps = 0u64;
    loop {
        let free = ring.saturating_sub(s.used_bytes(ring));
        let short = free < required(&s);
        // Wrapping puts the frame at [0, frame_len): the tail must not lie inside it.
        let tail_in_way = wrap_required && !s.is_empty() && s.tail < frame_len;
        if !short && !tail_in_way {
            break;
        }
        if s.is_empty() || steps > max_steps {
            return Err(Corrupt::ring(CorruptKind::WalkTooLong, s.tail).into());
        }
        steps = steps.saturating_add(1);
        drop_tail(view, &mut s, &mut dropped)?;
    }
    let tail_moved = s.tail != before.state.tail || s.oldest != before.state.oldest;
    let evicted = if tail_moved {
        s.tail_next = if s.is_empty() {
            s.tail
        } else {
            next_after(view, s.tail)?
        };
        Some(s)
    } else {
        None
    };

    let mut frame_off = head;
    let mut wrap_at = None;
    if wrap_required {
        if rem >= FRAME_HEADER_SIZE {
            wrap_at = Some(head);
        }
        frame_off = 0;
    }
    // `u64::MAX` is never a newest sequence (`RingState::check`), so the message before it is
    // the last one a pool takes: planning past it would publish a state every reader refuses.
    let seq = before
        .state
        .newest
        .checked_add(1)
        .filter(|&seq| seq != u64::MAX)
        .ok_or(Corrupt::header(
            CorruptKind::SeqSpaceExhausted,
            before
                .state_offset()
                .saturating_add(crate::layout::NEWEST_IN_STATE),
        ))?;
    // frame_off + frame_len ≤ ring: either it fits before the ring end or frame_off is 0.
    let end = frame_off.saturating_add(frame_len);
    let new_head = if end == ring { 0 } else { end };
    let after = if s.is_empty() {
        RingState {
            head: new_head,
            tail: frame_off,
            tail_next: new_head,
            oldest: seq,
            newest: seq,
        }
    } else {
        RingState {
            head: new_head,
            newest: seq,
            ..s
        }
    };
    Ok(Plan {
        seq,
        frame_off,
        frame_len,
        payload_len,
        wrap_at,
        before,
        evicted,
        after,
        dropped,
    })
}

/// Evicts what sits at the tail: a wrap (tail → 0) or the oldest message.
fn drop_tail<V: PoolView + ?Sized>(
    view: &V,
    s: &mut RingState,
    dropped: &mut u64,
) -> Result<(), Corrupt> {
    match read_frame_at(view, s.tail) {
        // Offset 0 always has room for a frame: a wrap there would wrap onto itself.
        Slot::Wrap { .. } if s.tail == 0 => {
            return Err(Corrupt::ring(CorruptKind::DoubleWrap, 0));
        }
        Slot::Wrap { .. } => s.tail = 0,
        Slot::Message(f) if f.seq() == s.oldest => {
            // The newest message ends where the next frame goes (`validate`'s rule); a ring
            // that says otherwise would leave the tail past it with nothing retained.
            if f.seq() == s.newest && f.next != s.head {
                let kind = CorruptKind::HeadMismatch { expected: f.next };
                return Err(Corrupt::ring(kind, s.tail));
            }
            s.tail = f.next;
            s.oldest = f.seq().saturating_add(1);
            *dropped = dropped.saturating_add(1);
        }
        Slot::Message(f) => {
            let kind = CorruptKind::SeqMismatch {
                expected: s.oldest,
                found: f.seq(),
            };
            return Err(Corrupt::ring(kind, s.tail));
        }
        Slot::Pending => return Err(Corrupt::ring(CorruptKind::FrameNotCommitted, s.tail)),
        Slot::Invalid(c) => return Err(c),
    }
    if s.tail == s.head {
        s.oldest = 0;
        s.tail_next = s.tail;
    }
    Ok(())
}

/// `tail_next_off` for a tail at `tail`: the frame after it, or 0 for a wrap.
fn next_after<V: PoolView + ?Sized>(view: &V, tail: u64) -> Result<u64, Corrupt> {
    match read_frame_at(view, tail) {
        Slot::Wrap { .. } => Ok(0),
        Slot::Message(f) => Ok(f.next),
        Slot::Pending => Err(Corrupt::ring(CorruptKind::FrameNotCommitted, tail)),
        Slot::Invalid(c) => Err(c),
    }
}

/// How a [`Store::Word`] must be ordered against the stores around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// No ordering beyond program order in the writer (the region is not visible yet, or the
    /// word is covered by a later release).
    Relaxed,
    /// Release store, then a release fence: earlier stores are visible before this one, and
    /// later stores only after it (opens a state update: the journal written before it is
    /// complete for anyone who sees it, and the fields changed after it are covered by it).
    Announce,
    /// Release store: every earlier store is visible before this one (publication).
    Release,
}

/// One store of the append protocol, at a file offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store<'a> {
    /// Copy bytes into a region readers do not consider live.
    Bytes {
        /// File offset.
        at: u64,
        /// The bytes.
        bytes: &'a [u8],
    },
    /// One 8-aligned little-endian `u64` store.
    Word {
        /// File offset (a multiple of 8).
        at: u64,
        /// The value.
        value: u64,
        /// Ordering.
        order: Order,
    },
}

/// The stores that publish `state` over a header whose generation is `generation`, in order, and
/// the generation afterwards.
///
/// Journal first (while `generation` is even readers ignore it), then `generation` odd, then the v3 fields,
/// then `generation` even. `generation` must be even on entry (finish an interrupted update first with
/// [`complete_interrupted`]); an odd `generation` is rounded up so the parity rule still holds.
pub fn publish_stores(state: &RingState, generation: u64) -> ([Store<'static>; 12], u64) {
    let base = generation.wrapping_add(generation % 2);
    let odd = base.wrapping_add(1);
    let even = base.wrapping_add(2);
    let w = state.words();
    let word = |at: u64, value: u64, order| Store::Word { at, value, order };
    let stores = [
        word(JOURNAL_OFFSET, w[0], Order::Relaxed),
        word(JOURNAL_OFFSET + 8, w[1], Order::Relaxed),
        word(JOURNAL_OFFSET + 16, w[2], Order::Relaxed),
        word(JOURNAL_OFFSET + 24, w[3], Order::Relaxed),
        word(JOURNAL_OFFSET + 32, w[4], Order::Relaxed),
        word(STATE_GEN_OFFSET, odd, Order::Announce),
        word(RING_STATE_OFFSET, w[0], Order::Relaxed),
        word(RING_STATE_OFFSET + 8, w[1], Order::Relaxed),
        word(RING_STATE_OFFSET + 16, w[2], Order::Relaxed),
        word(RING_STATE_OFFSET + 24, w[3], Order::Relaxed),
        word(RING_STATE_OFFSET + 32, w[4], Order::Relaxed),
        word(STATE_GEN_OFFSET, even, Order::Release),
    ];
    (stores, even)
}

/// The stores that finish an interrupted state update (`state_gen` odd): write the effective
/// state into the v3 fields, then make the generation even. `None` when nothing is pending.
pub fn complete_interrupted(published: &Published) -> Option<[Store<'static>; 6]> {
    if published.generation.is_multiple_of(2) {
        return None;
    }
    let w = published.state.words();
    let word = |at: u64, value: u64| Store::Word {
        at,
        value,
        order: Order::Relaxed,
    };
    Some([
        word(RING_STATE_OFFSET, w[0]),
        word(RING_STATE_OFFSET + 8, w[1]),
        word(RING_STATE_OFFSET + 16, w[2]),
        word(RING_STATE_OFFSET + 24, w[3]),
        word(RING_STATE_OFFSET + 32, w[4]),
        Store::Word {
            at: STATE_GEN_OFFSET,
            value: published.generation.wrapping_add(1),
            order: Order::Release,
        },
    ])
}

/// Most stores one append performs: 6 (finishing an interrupted update) + 12 (evicted state)
/// + 1 (wrap) + 4 (frame) + 2 (index) + 12 (final state).
pub const MAX_APPEND_STORES: usize = 37;

/// A plan bound to its payload: the frame bytes, ready to be stored in order.
#[derive(Clone, Copy, Debug)]
pub struct AppendWrite<'a> {
    plan: Plan,
    ring_offset: u64,
    index_slot_at: Option<u64>,
    payload: &'a [u8],
    writing: [u8; 64],
    committed_word: u64,
    wrap: [u8; 64],
}

impl<'a> AppendWrite<'a> {
    /// Binds `plan` (made on `view`'s pool) to its payload, with the message time and the
    /// payload's CRC-32 (computed by the caller, ideally before taking the writer lock).
    /// `None` when the payload length differs from the plan's.
    pub fn new<V: PoolView + ?Sized>(
        view: &V,
        plan: &Plan,
        timestamp_ns: u64,
        payload: &'a [u8],
        crc: u32,
    ) -> Option<AppendWrite<'a>> {
        if payload.len() as u64 != u64::from(plan.payload_len) {
            return None;
        }
        let geo = view.geometry();
        let head = FrameHead::message(plan.seq, timestamp_ns, plan.payload_len, crc);
        let committed = FrameHead {
            state: FrameState::Committed,
            ..head
        };
        let index_slot_at =
            index_slot_for(geo, plan.seq).and_then(|slot| geo.index_slot_offset(slot));
        Some(AppendWrite {
            plan: *plan,
            ring_offset: geo.ring_offset,
            index_slot_at,
            payload,
            writing: head.encode(),
            committed_word: committed.first_word(),
            wrap: FrameHead::wrap().encode(),
        })
    }

    /// The plan being carried out.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The stores, in the order they must be performed; `.1` is how many of `.0` are used.
    pub fn stores(&'a self) -> ([Option<Store<'a>>; MAX_APPEND_STORES], usize) {
        let mut out: [Option<Store<'_>>; MAX_APPEND_STORES] = [None; MAX_APPEND_STORES];
        let mut n = 0;
        let mut push = |s: Store<'a>| {
            if let Some(slot) = out.get_mut(n) {
                *slot = Some(s);
                n = n.saturating_add(1);
            }
        };
        let p = &self.plan;
        let mut generation = p.before.generation;
        if let Some(finish) = complete_interrupted(&p.before) {
            finish.into_iter().for_each(&mut push);
            generation = generation.wrapping_add(1);
        }
        if let Some(evicted) = &p.evicted {
            let (stores, next) = publish_stores(evicted, generation);
            stores.into_iter().for_each(&mut push);
            generation = next;
        }
        let ring = |off: u64| self.ring_offset.saturating_add(off);
        if let Some(w) = p.wrap_at {
            push(Store::Bytes {
                at: ring(w),
                bytes: &self.wrap,
            });
        }
        let frame = ring(p.frame_off);
        push(Store::Bytes {
            at: frame,
            bytes: &self.writing,
        });
        let payload_at = frame.saturating_add(FRAME_HEADER_SIZE);
        push(Store::Bytes {
            at: payload_at,
            bytes: self.payload,
        });
        push(Store::Bytes {
            at: payload_at.saturating_add(u64::from(p.payload_len)),
            bytes: &COMMIT_MARKER,
        });
        push(Store::Word {
            at: frame,
            value: self.committed_word,
            order: Order::Release,
        });
        if let Some(at) = self.index_slot_at {
            push(Store::Word {
                at: at.saturating_add(INDEX_SLOT_OFF_OFFSET),
                value: p.frame_off,
                order: Order::Relaxed,
            });
            push(Store::Word {
                at: at.saturating_add(INDEX_SLOT_SEQ_OFFSET),
                value: p.seq,
                order: Order::Relaxed,
            });
        }
        let (stores, _) = publish_stores(&p.after, generation);
        stores.into_iter().for_each(&mut push);
        (out, n)
    }
}
