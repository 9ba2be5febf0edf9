//! The stateful target: the append planner and its ordered stores against the model shared with
//! the integration tests (`core/tests/support/model.rs`), over arbitrary geometries and append
//! sequences; then the planner over arbitrary ring-state words.
//!
//! - Every append either succeeds and the pool still matches the model (`Model::check`), or is
//!   refused as `TooLarge` for a payload that really cannot fit. Nothing else is acceptable on a
//!   pool built only by appends.
//! - With ring-state words overwritten by arbitrary values: if the header still parses, planning
//!   never panics, and an accepted plan stays inside the ring and leads to a state that passes
//!   `RingState::check` — carried out, the header still parses.
#![no_main]

// The model shared with `core/tests`; formatted there (`rustfmt::skip` keeps `cargo fmt` here
// from reaching into core's files).
#[allow(dead_code, unreachable_pub)]
#[path = "../../core/tests/support/model.rs"]
#[rustfmt::skip]
mod model;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use model::{MemPool, Model};
use plasmite_core::frame::frame_len;
use plasmite_core::layout::{
    FRAME_HEADER_SIZE, JOURNAL_OFFSET, MAX_PAYLOAD, RING_STATE_OFFSET, STATE_GEN_OFFSET,
};
use plasmite_core::{Geometry, PlanError, PoolView, RingState, Snapshot, locate, plan_append};

#[derive(Arbitrary, Debug)]
struct Scenario {
    /// → file size 4097..=65536.
    file_size: u16,
    /// → index capacity 0..=63 (0 when the file is too small for it).
    index_capacity: u8,
    ops: Vec<Op>,
    tamper: Option<Tamper>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// A payload of exactly `len` bytes (may exceed what the pool holds).
    Append {
        len: u16,
        fill: u8,
        timestamp_ns: u64,
    },
    /// A payload of `len mod (max_payload + 1)` bytes: always fits.
    AppendFitting {
        len: u16,
        fill: u8,
        timestamp_ns: u64,
    },
    /// Check the pool against the model, and locate every retained message.
    Check,
}

#[derive(Arbitrary, Debug)]
struct Tamper {
    /// Use the words as given; otherwise fold offsets into the ring (8-aligned) and sequences
    /// near the real ones, so the planner gets past the state check and reads frames.
    raw: bool,
    words: [u64; 5],
    /// `state_gen` and journal words to write as well.
    journal: Option<(u64, [u64; 5])>,
    payload_len: u16,
}

fuzz_target!(|scenario: Scenario| run(scenario));

fn run(scenario: Scenario) {
    let file_size = 4097 + u64::from(scenario.file_size) % (65536 - 4096);
    let cap = u64::from(scenario.index_capacity % 64);
    let geo = Geometry::new(file_size, Some(cap))
        .or_else(|_| Geometry::new(file_size, Some(0)))
        .expect("a file over 4096 bytes holds a pool without index");
    let mut pool = MemPool::create(geo.file_size, Some(u64::from(geo.index_capacity)))
        .expect("the geometry was accepted");
    let mut model = Model::default();
    model.check(&pool);

    for op in scenario.ops.into_iter().take(512) {
        match op {
            Op::Append {
                len,
                fill,
                timestamp_ns,
            } => append(
                &mut pool,
                &mut model,
                &geo,
                u64::from(len),
                fill,
                timestamp_ns,
            ),
            Op::AppendFitting {
                len,
                fill,
                timestamp_ns,
            } => {
                let len = u64::from(len) % (geo.max_payload() + 1);
                append(&mut pool, &mut model, &geo, len, fill, timestamp_ns);
            }
            Op::Check => {
                model.check(&pool);
                let snap = pool.snapshot();
                for (seq, _, payload) in &model.messages {
                    let f = locate(&snap, *seq)
                        .expect("a valid pool locates")
                        .expect("a retained message is found");
                    assert_eq!(snap.payload(&f), Some(&payload[..]));
                }
            }
        }
    }

    if let Some(t) = scenario.tamper {
        tampered(&pool, &geo, &t);
    }
}

fn append(pool: &mut MemPool, model: &mut Model, geo: &Geometry, len: u64, fill: u8, ts: u64) {
    let payload: Vec<u8> = (0..len).map(|i| fill.wrapping_add(i as u8)).collect();
    match pool.append(ts, &payload) {
        Ok(plan) => {
            assert!(
                len <= geo.max_payload(),
                "accepted {len} > max_payload: {plan:?}"
            );
            assert!(plan.frame_off + plan.frame_len <= geo.ring_size, "{plan:?}");
            model.appended(plan.seq, ts, payload);
        }
        Err(PlanError::TooLarge { payload_len, max }) => {
            assert_eq!(payload_len, len);
            assert!(max <= geo.max_payload(), "TooLarge.max {max} > max_payload");
            // `max` is tight: one byte more no longer fits the ring or the format limit.
            let next = frame_len(max + 1).unwrap();
            assert!(
                next > geo.ring_size || max + 1 > MAX_PAYLOAD,
                "max {max} is not tight"
            );
            // A ring shorter than the smallest frame takes nothing, not even an empty payload,
            // although `max` then reads 0.
            let nothing_fits = frame_len(0).unwrap() > geo.ring_size;
            assert!(
                len > max || nothing_fits,
                "refused {len} bytes as too large with max {max} (ring {})",
                geo.ring_size
            );
        }
        Err(e) => panic!("append to a pool built by appends failed: {e:?}"),
    }
    model.check(pool);
}

fn tampered(pool: &MemPool, geo: &Geometry, t: &Tamper) {
    let real = pool.snapshot().published().unwrap().state;
    let fold = |w: [u64; 5]| {
        if t.raw {
            return w;
        }
        let off = |x: u64| (x % geo.ring_size) & !7;
        let seq = |x: u64| x % (real.newest + 3);
        [off(w[0]), off(w[1]), off(w[2]), seq(w[3]), seq(w[4])]
    };
    let mut bytes = pool.bytes.clone();
    let put = |bytes: &mut [u8], at: u64, words: [u64; 5]| {
        for (i, w) in words.iter().enumerate() {
            let at = at as usize + 8 * i;
            bytes[at..at + 8].copy_from_slice(&w.to_le_bytes());
        }
    };
    put(&mut bytes, RING_STATE_OFFSET, fold(t.words));
    if let Some((generation, journal)) = t.journal {
        let at = STATE_GEN_OFFSET as usize;
        bytes[at..at + 8].copy_from_slice(&generation.to_le_bytes());
        put(&mut bytes, JOURNAL_OFFSET, fold(journal));
    }
    let Ok(snap) = Snapshot::new(&bytes) else {
        return;
    };
    let published = snap.published().expect("validated by parse");
    let payload_len = u64::from(t.payload_len);
    let plan = match plan_append(&snap, published, payload_len) {
        Ok(plan) => plan,
        Err(PlanError::TooLarge { max, .. }) => {
            assert!(payload_len > max || frame_len(0).unwrap() > geo.ring_size);
            return;
        }
        Err(_) => return,
    };
    let ring = geo.ring_size;
    assert_eq!(plan.before, published);
    assert_eq!(plan.seq, published.state.newest + 1);
    assert!(
        plan.frame_off.saturating_add(plan.frame_len) <= ring,
        "{plan:?}"
    );
    assert_eq!(plan.frame_off % 8, 0);
    if let Some(w) = plan.wrap_at {
        assert!(
            w + FRAME_HEADER_SIZE <= ring,
            "wrap marker past the ring end: {plan:?}"
        );
    }
    check_state(&plan.after, geo, &plan);
    if let Some(evicted) = &plan.evicted {
        check_state(evicted, geo, &plan);
    }
    assert!(!plan.after.is_empty(), "the new message is retained");
    assert_eq!(plan.after.newest, plan.seq);

    let mut applied = MemPool::from_bytes(bytes.clone());
    let payload = vec![0xC3; payload_len as usize];
    let carried = applied
        .append(1, &payload)
        .expect("the same plan succeeds again");
    assert_eq!(carried, plan);
    match Snapshot::new(&applied.bytes) {
        Ok(after) => assert_eq!(after.published().unwrap().state, plan.after),
        Err(e) => panic!("header no longer parses after carrying out {plan:?}: {e:?}"),
    }
}

fn check_state(state: &RingState, geo: &Geometry, plan: &plasmite_core::Plan) {
    if let Err(c) = state.check(geo, RING_STATE_OFFSET) {
        panic!("planned state {state:?} fails check: {c:?} in {plan:?}");
    }
}
