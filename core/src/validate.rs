//! The validation walk behind `doctor`: is this pool exactly what its header says?
//!
//! Role: walks every retained frame from the tail, checking what the reference's doctor checks
//! and more: commit markers, sequence continuity, where the newest frame ends, `tail_next_off`,
//! and payload CRCs where frames carry them. Also the reference's index spot-check, which only
//! ever warns.
//!
//! # Invariants
//! - Bounded: at most `ring_size / 64 + 2` frames are visited, whatever the bytes say.
//! - Reports the first problem only, with the sequence expected there and the last good one.
//! - Never allocates; CRCs are computed through the view in small pieces.
//!
//! Spec: `spec/FORMAT.md` §8 (validation rules).

use crate::error::{Corrupt, CorruptKind};
use crate::header::RingState;
use crate::layout::{FRAME_HEADER_SIZE, RING_STATE_OFFSET};
use crate::read::{Slot, index_slot, read_frame_at, read_message_at};
use crate::view::PoolView;

/// The first problem a walk found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Issue {
    /// What and where.
    pub corrupt: Corrupt,
    /// The sequence the walk expected at that point, if it was walking frames.
    pub expected_seq: Option<u64>,
}

/// The result of [`validate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report {
    /// The ring state that was checked (if the header could be read).
    pub state: Option<RingState>,
    /// The first problem, if any.
    pub issue: Option<Issue>,
    /// The newest sequence reached with every check passing.
    pub last_good_seq: Option<u64>,
    /// Message frames that passed.
    pub frames: u64,
    /// Of those, frames whose payload CRC was verified.
    pub checksummed: u64,
}

impl Report {
    /// No problem found.
    pub const fn is_ok(&self) -> bool {
        self.issue.is_none()
    }
}

/// Walks the pool and reports the first problem.
pub fn validate<V: PoolView + ?Sized>(view: &V) -> Report {
    let mut report = Report {
        state: None,
        issue: None,
        last_good_seq: None,
        frames: 0,
        checksummed: 0,
    };
    let state = match view.published() {
        Ok(p) => p.state,
        Err(c) => {
            report.issue = Some(Issue {
                corrupt: c,
                expected_seq: None,
            });
            return report;
        }
    };
    report.state = Some(state);
    if state.is_empty() {
        return report;
    }
    if let Err(issue) = walk(view, &state, &mut report) {
        report.issue = Some(issue);
        return report;
    }
    if let Err(c) = check_tail_next(view, &state) {
        report.issue = Some(Issue {
            corrupt: c,
            expected_seq: None,
        });
    }
    report
}

fn walk<V: PoolView + ?Sized>(
    view: &V,
    state: &RingState,
    report: &mut Report,
) -> Result<(), Issue> {
    let ring_size = view.geometry().ring_size;
    let max_steps = (ring_size / FRAME_HEADER_SIZE).saturating_add(2);
    let mut off = state.tail;
    let mut expect = state.oldest;
    for _ in 0..max_steps {
        let issue = |corrupt| Issue {
            corrupt,
            expected_seq: Some(expect),
        };
        let frame = read_message_at(view, off).map_err(issue)?;
        if frame.seq() != expect {
            let kind = CorruptKind::SeqMismatch {
                expected: expect,
                found: frame.seq(),
            };
            return Err(issue(Corrupt::ring(kind, frame.offset)));
        }
        if frame.verify_crc(view).map_err(issue)? {
            report.checksummed = report.checksummed.saturating_add(1);
        }
        report.frames = report.frames.saturating_add(1);
        report.last_good_seq = Some(expect);
        if expect == state.newest {
            if frame.next != state.head {
                let kind = CorruptKind::HeadMismatch {
                    expected: frame.next,
                };
                return Err(issue(Corrupt::header(kind, RING_STATE_OFFSET)));
            }
            return Ok(());
        }
        off = frame.next;
        expect = expect.saturating_add(1);
    }
    Err(Issue {
        corrupt: Corrupt::ring(CorruptKind::WalkTooLong, off),
        expected_seq: Some(expect),
    })
}

/// `tail_next_off` must be where the frame after the tail starts (0 when the tail is a wrap);
/// v3 writers take it on trust to evict without reading the tail frame.
fn check_tail_next<V: PoolView + ?Sized>(view: &V, state: &RingState) -> Result<(), Corrupt> {
    let expected = match read_frame_at(view, state.tail) {
        Slot::Wrap { .. } => 0,
        Slot::Message(f) => f.next,
        Slot::Pending => return Err(Corrupt::ring(CorruptKind::FrameNotCommitted, state.tail)),
        Slot::Invalid(c) => return Err(c),
    };
    if state.tail_next != expected {
        return Err(Corrupt::header(
            CorruptKind::TailNextMismatch { expected },
            RING_STATE_OFFSET + 16,
        ));
    }
    Ok(())
}

/// An index slot that does not point at the message it names (the reference's doctor warns
/// about these; stale slots are normal after eviction and harmless, since lookups verify).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaleSlot {
    /// Slot number.
    pub slot: u64,
    /// Sequence recorded in it.
    pub seq: u64,
}

/// The reference's index spot-check: slots 0, capacity/2 and capacity−1 (each once), skipping
/// never-written slots, report those whose entry is not a retained, matching frame.
pub fn index_spot_check<V: PoolView + ?Sized>(view: &V) -> [Option<StaleSlot>; 3] {
    let mut out = [None; 3];
    let cap = u64::from(view.geometry().index_capacity);
    if cap == 0 {
        return out;
    }
    let state = view.published().map(|p| p.state).unwrap_or_default();
    let slots = [0, cap / 2, cap.saturating_sub(1)];
    for (i, (&slot, entry)) in slots.iter().zip(out.iter_mut()).enumerate() {
        if slots.iter().take(i).any(|&s| s == slot) {
            continue;
        }
        let Some((seq, off)) = index_slot(view, slot) else {
            continue;
        };
        if seq == 0 {
            continue;
        }
        let good = state.retains(seq)
            && matches!(read_frame_at(view, off), Slot::Message(f) if f.seq() == seq);
        if !good {
            *entry = Some(StaleSlot { slot, seq });
        }
    }
    out
}
