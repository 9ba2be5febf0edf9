//! Random appends into random pools, checked against a simple model after every append.

mod support;

use plasmite_core::{Cursor, Geometry, PlanError, PoolView, Step, locate};
use support::model::{MemPool, Model, Rng};

/// A payload length: mostly small, sometimes up to a large share of the ring, rarely the
/// maximum or just over it.
fn payload_len(rng: &mut Rng, max: u64) -> u64 {
    match rng.range(0, 99) {
        0..=59 => rng.range(0, 120.min(max)),
        60..=89 => rng.range(0, (max / 8).max(1)),
        90..=97 => rng.range(0, max),
        98 => max,
        _ => max + rng.range(1, 64),
    }
}

fn run(seed: u64, appends: usize) {
    let mut rng = Rng::new(seed);
    let file_size = rng.range(1024, 1 << 20) + 4096;
    let index = match rng.range(0, 2) {
        0 => Some(0),
        1 => None,
        _ => Some(rng.range(1, (file_size - 4096 - 512) / 16 / 4)),
    };
    let mut pool = MemPool::create(file_size, index).unwrap();
    let geo: Geometry = *pool.snapshot().geometry();
    let max = geo.max_payload();
    let mut model = Model::default();
    for i in 0..appends {
        let len = payload_len(&mut rng, max);
        let payload = rng.bytes(usize::try_from(len).unwrap());
        let ts = 1_700_000_000_000_000_000 + i as u64;
        match pool.append(ts, &payload) {
            Ok(plan) => {
                assert!(len <= max, "seed {seed}: accepted {len} > max {max}");
                model.appended(plan.seq, ts, payload);
            }
            Err(PlanError::TooLarge {
                payload_len,
                max: m,
            }) => {
                assert!(len > max, "seed {seed}: refused {len} ≤ max {max}");
                assert_eq!((payload_len, m), (len, max));
            }
            Err(e) => panic!("seed {seed} append {i}: {e}"),
        }
        model.check(&pool);
    }
    // Lookups by seq agree with the walk, index or not.
    let snap = pool.snapshot();
    let state = snap.published().unwrap().state;
    for seq in state.oldest.saturating_sub(3)..=state.newest + 3 {
        let found = locate(&snap, seq).unwrap();
        assert_eq!(found.is_some(), state.retains(seq), "seed {seed} seq {seq}");
        if let Some(f) = found {
            assert_eq!(f.seq(), seq);
        }
    }
}

#[test]
fn random_appends_into_random_pools_match_the_model() {
    // 24 seeds × 250 appends = 6 000 appends, each followed by a full model check.
    for seed in 1..=24 {
        run(seed, 250);
    }
}

#[test]
fn small_rings_under_heavy_wrapping_match_the_model() {
    for seed in 100..=130 {
        let mut rng = Rng::new(seed);
        let file_size = 4096 + rng.range(200, 3000);
        let mut pool = MemPool::create(file_size, Some(rng.range(0, 8))).unwrap();
        let max = pool.snapshot().geometry().max_payload();
        let mut model = Model::default();
        for i in 0..300 {
            let len = rng.range(0, max.min(400));
            let payload = rng.bytes(len as usize);
            match pool.append(i, &payload) {
                Ok(plan) => model.appended(plan.seq, i, payload),
                Err(PlanError::TooLarge { .. }) => {}
                Err(e) => panic!("seed {seed}: {e}"),
            }
            model.check(&pool);
        }
    }
}

#[test]
fn cursor_overtaken_by_writers_reports_the_gap_and_resumes_at_the_oldest() {
    let mut pool = MemPool::create(4096 + 2048, Some(0)).unwrap();
    for i in 0..3 {
        let _ = pool.append(i, &[1u8; 100]).unwrap();
    }
    let mut cursor = Cursor::oldest(&pool.snapshot().published().unwrap().state);
    assert!(matches!(cursor.next(&pool.snapshot()), Ok(Step::Message(f)) if f.seq() == 1));
    for i in 0..40 {
        let _ = pool.append(i, &[2u8; 100]).unwrap();
    }
    let state = pool.snapshot().published().unwrap().state;
    assert!(
        state.oldest > 2,
        "the writers evicted what the cursor had not read"
    );
    match cursor.next(&pool.snapshot()) {
        Ok(Step::Gap {
            first_missing,
            count,
        }) => {
            assert_eq!(first_missing, 2);
            assert_eq!(first_missing + count, state.oldest);
        }
        other => panic!("{other:?}"),
    }
    let mut seqs = Vec::new();
    while let Ok(Step::Message(f)) = cursor.next(&pool.snapshot()) {
        seqs.push(f.seq());
    }
    assert_eq!(seqs, (state.oldest..=state.newest).collect::<Vec<_>>());
}

#[test]
fn seek_cursor_ahead_of_the_newest_skips_to_its_seq() {
    let mut pool = MemPool::create(64 * 1024, None).unwrap();
    for i in 0..3 {
        let _ = pool.append(i, b"x").unwrap();
    }
    let mut cursor = Cursor::from_seq(6);
    assert_eq!(cursor.next(&pool.snapshot()), Ok(Step::CaughtUp));
    for i in 0..5 {
        let _ = pool.append(i, b"y").unwrap();
    }
    let mut seqs = Vec::new();
    while let Ok(Step::Message(f)) = cursor.next(&pool.snapshot()) {
        seqs.push(f.seq());
    }
    assert_eq!(seqs, [6, 7, 8]);
}

/// A reader that falls behind a writer on a valid pool only ever sees messages in order or
/// gaps, never an error — also when the wrap marker it stopped at has been reused while the
/// message after it is still retained.
#[test]
fn lagging_cursor_on_a_valid_pool_never_reports_corruption() {
    for seed in 200..=260 {
        let mut rng = Rng::new(seed);
        let file_size = 4096 + rng.range(600, 6000);
        let mut pool = MemPool::create(file_size, Some(rng.range(0, 4))).unwrap();
        let max = pool.snapshot().geometry().max_payload().min(700);
        let mut cursor = Cursor::oldest(&pool.snapshot().published().unwrap().state);
        let mut last = 0;
        for i in 0..400 {
            let len = rng.range(0, max) as usize;
            let _ = pool.append(i, &rng.bytes(len)).unwrap();
            // Read a message only now and then, so the writer laps the reader.
            if rng.range(0, 3) == 0 {
                match cursor.next(&pool.snapshot()) {
                    Ok(Step::Message(f)) => {
                        assert!(f.seq() > last, "seed {seed}: in order");
                        last = f.seq();
                    }
                    Ok(Step::Gap {
                        first_missing,
                        count,
                    }) => {
                        assert_eq!(
                            first_missing,
                            last + 1,
                            "seed {seed}: gap starts after the last read"
                        );
                        last = first_missing + count - 1;
                    }
                    Ok(Step::CaughtUp) => {}
                    Err(e) => panic!("seed {seed} append {i}: lagging cursor reported {e}"),
                }
            }
        }
    }
}
