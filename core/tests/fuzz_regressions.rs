//! Inputs the fuzzers found, kept as tests (the raw inputs live in `fuzz/regressions/`).

mod support;

use plasmite_core::{
    Corrupt, CorruptKind, Cursor, Geometry, HeaderError, PoolView, Published, RingState, Snapshot,
    Step,
};
use support::model::MemPool;

/// A pool whose header has been given `state`, bypassing nothing: the header check decides.
fn with_state(mut pool: MemPool, state: RingState) -> MemPool {
    for (i, w) in state.words().into_iter().enumerate() {
        let at = 64 + 8 * i;
        pool.bytes[at..at + 8].copy_from_slice(&w.to_le_bytes());
    }
    pool
}

#[test]
fn newest_seq_at_the_end_of_the_sequence_space_is_corrupt() {
    let empty = RingState {
        newest: u64::MAX,
        ..RingState::default()
    };
    let pool = with_state(MemPool::create(8192, None).unwrap(), empty);
    assert!(matches!(
        Snapshot::new(&pool.bytes),
        Err(HeaderError::Corrupt(Corrupt {
            kind: CorruptKind::SeqSpaceExhausted,
            ..
        }))
    ));
}

#[test]
fn append_after_the_last_usable_sequence_is_refused_not_published_as_corrupt() {
    // Found by `walk_validate`: newest = u64::MAX - 1 passes the header check, and planning
    // the next message produced a state with newest = u64::MAX, which fails it.
    for newest in [u64::MAX - 1, u64::MAX - 2] {
        let state = RingState {
            newest,
            ..RingState::default()
        };
        let mut pool = with_state(MemPool::create(8192, None).unwrap(), state);
        let snap = pool.snapshot();
        let published = snap.published().unwrap();
        let planned = plasmite_core::plan_append(&snap, published, 0);
        if newest == u64::MAX - 1 {
            assert!(
                matches!(
                    planned,
                    Err(plasmite_core::PlanError::Corrupt(Corrupt {
                        kind: CorruptKind::SeqSpaceExhausted,
                        ..
                    }))
                ),
                "{planned:?}"
            );
            assert!(pool.append(1, b"").is_err());
        } else {
            let plan = planned.unwrap();
            assert_eq!(plan.after.newest, u64::MAX - 1);
            assert!(plan.after.check(snap.geometry(), 64).is_ok());
            assert_eq!(pool.append(1, b"").unwrap().seq, u64::MAX - 1);
            assert!(Snapshot::new(&pool.bytes).is_ok());
        }
    }
}

/// A view that reports whatever state it is given, to drive the cursor past the header check.
struct Forged<'a> {
    snap: Snapshot<'a>,
    state: RingState,
}

impl PoolView for Forged<'_> {
    fn geometry(&self) -> &Geometry {
        self.snap.geometry()
    }
    fn published(&self) -> Result<Published, Corrupt> {
        Ok(Published {
            state: self.state,
            generation: 0,
            from_journal: false,
        })
    }
    fn read(&self, off: u64, dst: &mut [u8]) -> bool {
        self.snap.read(off, dst)
    }
}

#[test]
fn cursor_on_an_exhausted_empty_pool_is_caught_up_not_gapping_forever() {
    let pool = MemPool::create(8192, None).unwrap();
    let state = RingState {
        newest: u64::MAX,
        ..RingState::default()
    };
    let view = Forged {
        snap: pool.snapshot(),
        state,
    };
    let mut cursor = Cursor::oldest(&state);
    for _ in 0..3 {
        assert_eq!(cursor.next(&view), Ok(Step::CaughtUp));
    }
}

#[test]
fn cursor_never_delivers_the_same_frame_twice() {
    // One frame filling the ring (full state), carrying the last possible sequence.
    let mut pool = MemPool::create(4096 + 512, Some(0)).unwrap();
    let max = pool.snapshot().geometry().max_payload();
    let _ = pool.append(1, &vec![0u8; max as usize]).unwrap();
    let seq_at = pool.snapshot().geometry().ring_offset as usize + 16;
    pool.bytes[seq_at..seq_at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    let state = RingState {
        head: 0,
        tail: 0,
        tail_next: 0,
        oldest: u64::MAX,
        newest: u64::MAX,
    };
    let view = Forged {
        snap: pool.snapshot(),
        state,
    };
    let mut cursor = Cursor::oldest(&state);
    let mut delivered = 0;
    for _ in 0..5 {
        if let Ok(Step::Message(_)) = cursor.next(&view) {
            delivered += 1;
        }
    }
    assert_eq!(delivered, 1, "the frame is delivered once");
}

#[test]
fn a_wrap_marker_at_ring_offset_zero_is_corrupt_not_an_endless_eviction() {
    // A 5 KiB pool without index whose tail is a wrap marker at ring offset 0: evicting it
    // leaves the tail where it was. Found by review; planning looped forever (under the lock).
    let mut pool = MemPool::create(5120, Some(0)).unwrap();
    let ring_offset = pool.snapshot().geometry().ring_offset as usize;
    let wrap = plasmite_core::FrameHead::wrap().encode();
    pool.bytes[ring_offset..ring_offset + wrap.len()].copy_from_slice(&wrap);
    let pool = with_state(
        pool,
        RingState {
            head: 128,
            tail: 0,
            tail_next: 0,
            oldest: 1,
            newest: 1,
        },
    );
    let snap = pool.snapshot();
    let err = plasmite_core::plan_append(&snap, snap.published().unwrap(), 900).unwrap_err();
    assert!(
        matches!(
            err,
            plasmite_core::PlanError::Corrupt(Corrupt {
                kind: CorruptKind::DoubleWrap,
                ..
            })
        ),
        "{err:?}"
    );
}
