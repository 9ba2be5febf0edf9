//! Whole pool files built from fuzz input, read every way the core reads them: `validate`, a
//! cursor walk from the oldest message, `locate`, and `plan_append`. Never panics, never hangs,
//! and the readers agree with each other.
//!
//! Input layout (little-endian):
//! - `[0..2]` file size selector → 4097..=65536 bytes; `[2]` index capacity selector (0..=32);
//! - `[3]` mode: bit 0 = prefill the ring with real appends and patch bytes (else overlay raw
//!   bytes), bit 1 = the state words below include `state_gen` and the journal, bit 2 = prefill
//!   mode takes state words at all;
//! - `[4..8]` payload length to plan; `[8..16]` an extra sequence to locate and seek to;
//! - raw mode: 40 bytes written over the ring-state words (offsets 64..104), with bit 1 48 more
//!   over `state_gen` + journal (104..152), then the bytes from offset 4096 (index and ring) on;
//! - prefill mode: a message count (mod 48) and a length per message (2 bytes each); with bit 2
//!   the state words as above, XORed in (so zero bytes keep the real state); then 3-byte
//!   patches `(offset: u16, byte)` written into the file.
//!
//! The raw input is also handed to `Snapshot::new` as a whole pool file.
#![no_main]

// The model shared with `core/tests`; formatted there (`rustfmt::skip` keeps `cargo fmt` here
// from reaching into core's files).
#[allow(dead_code, unreachable_pub)]
#[path = "../../core/tests/support/model.rs"]
#[rustfmt::skip]
mod model;

use libfuzzer_sys::fuzz_target;
use model::MemPool;
use plasmite_core::frame::payload_crc;
use plasmite_core::layout::{FRAME_HEADER_SIZE, HEADER_SIZE, RING_STATE_OFFSET, STATE_GEN_OFFSET};
use plasmite_core::validate::index_spot_check;
use plasmite_core::{Cursor, Geometry, Header, PoolView, Snapshot, Step, locate, plan_append};

fuzz_target!(|data: &[u8]| {
    exercise(data, 0, 0);
    if let Some(pool) = build(data) {
        exercise(&pool.bytes, pool.payload_len, pool.extra_seq);
    }
});

struct Built {
    bytes: Vec<u8>,
    payload_len: u64,
    extra_seq: u64,
}

/// Takes bytes off the front of the input; short reads are zero-padded.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }
    fn word<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let got = self.take(N);
        out[..got.len()].copy_from_slice(got);
        out
    }
    fn u8(&mut self) -> u8 {
        self.word::<1>()[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.word())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.word())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.word())
    }
}

fn build(data: &[u8]) -> Option<Built> {
    let mut input = Input(data);
    let file_size = 4097 + u64::from(input.u16()) % (65536 - 4096);
    let cap = u64::from(input.u8() % 33);
    let mode = input.u8();
    let payload_len = u64::from(input.u32());
    let extra_seq = input.u64();
    let geo = Geometry::new(file_size, Some(cap))
        .or_else(|_| Geometry::new(file_size, Some(0)))
        .ok()?;
    let mut pool = MemPool::create(geo.file_size, Some(u64::from(geo.index_capacity))).ok()?;

    // Writes (or XORs) the state words from the input over the header.
    let state_words = |input: &mut Input<'_>, bytes: &mut [u8], xor: bool| {
        let mut put = |at: u64, src: &[u8]| {
            let dst = &mut bytes[at as usize..][..src.len()];
            for (d, s) in dst.iter_mut().zip(src) {
                *d = if xor { *d ^ s } else { *s };
            }
        };
        put(RING_STATE_OFFSET, input.take(40));
        if mode & 2 != 0 {
            put(STATE_GEN_OFFSET, input.take(48));
        }
    };

    if mode & 1 == 0 {
        state_words(&mut input, &mut pool.bytes, false);
        let rest = input.take(usize::MAX);
        let body = &mut pool.bytes[HEADER_SIZE as usize..];
        let n = rest.len().min(body.len());
        body[..n].copy_from_slice(&rest[..n]);
    } else {
        // Few enough appends to keep executions fast (each one parses the header, whose
        // 3936-byte zero check dominates under coverage tracing); lengths up to the ring make
        // even a few wrap and evict.
        let count = input.u8() % 48;
        let max = geo.max_payload().max(1);
        for i in 0..count {
            let len = u64::from(input.u16()) % (max + 1);
            let payload = vec![i ^ 0x5A; len as usize];
            // TooLarge for payloads the ring cannot hold is fine here; the planner target
            // checks that verdict.
            let _ = pool.append(u64::from(i), &payload);
        }
        if mode & 4 != 0 {
            state_words(&mut input, &mut pool.bytes, true);
        }
        while !input.0.is_empty() {
            let at = usize::from(input.u16()) % pool.bytes.len();
            pool.bytes[at] = input.u8();
        }
    }
    Some(Built {
        bytes: pool.bytes,
        payload_len,
        extra_seq,
    })
}

fn exercise(bytes: &[u8], payload_len: u64, extra_seq: u64) {
    let Ok(snap) = Snapshot::new(bytes) else {
        return;
    };
    let geo = *snap.geometry();
    let published = snap
        .published()
        .expect("a snapshot's state was validated by parse");
    let state = published.state;
    let _ = index_spot_check(&snap);

    let report = plasmite_core::validate(&snap);
    assert_eq!(report.state, Some(state));
    assert!(
        report.frames <= geo.ring_size / 64 + 2,
        "validate visited too many frames"
    );
    let valid = report.is_ok();

    // Cursor from the oldest message: contiguous sequences, bounded, and when validate found
    // nothing wrong it delivers exactly the retained messages.
    let from_oldest = walk(&snap, Cursor::oldest(&state));
    if valid {
        assert_eq!(
            from_oldest.error, None,
            "validate passed but the cursor failed"
        );
        assert_eq!(
            from_oldest.delivered,
            state.count(),
            "cursor delivers every retained message"
        );
        assert_eq!(from_oldest.delivered, report.frames);
    }
    let _ = walk(&snap, Cursor::from_seq(extra_seq));
    let _ = walk(&snap, Cursor::live(&state));

    let mid = state.oldest / 2 + state.newest / 2;
    for seq in [
        0,
        state.oldest,
        state.oldest.wrapping_sub(1),
        mid,
        state.newest,
        state.newest.wrapping_add(1),
        extra_seq,
    ] {
        match locate(&snap, seq) {
            Ok(Some(f)) => {
                assert_eq!(f.seq(), seq, "locate returned another sequence");
                assert!(
                    state.retains(seq),
                    "locate found a sequence that is not retained"
                );
                assert!(f.offset.saturating_add(f.head.frame_len()) <= geo.ring_size);
            }
            Ok(None) => assert!(!(valid && state.retains(seq)), "valid pool lost {seq}"),
            Err(c) => assert!(!valid, "locate({seq}) failed on a valid pool: {c:?}"),
        }
    }

    let Ok(plan) = plan_append(&snap, published, payload_len) else {
        return;
    };
    assert_eq!(plan.seq, state.newest + 1);
    assert_eq!(u64::from(plan.payload_len), payload_len);
    assert!(payload_len <= geo.max_payload());
    assert!(
        plan.frame_off.saturating_add(plan.frame_len) <= geo.ring_size,
        "{plan:?}"
    );
    if let Some(w) = plan.wrap_at {
        assert!(
            w.saturating_add(FRAME_HEADER_SIZE) <= geo.ring_size,
            "{plan:?}"
        );
    }
    if let Err(c) = plan.after.check(&geo, RING_STATE_OFFSET) {
        panic!("plan.after fails check: {c:?} in {plan:?}");
    }
    if let Some(evicted) = plan.evicted {
        if let Err(c) = evicted.check(&geo, RING_STATE_OFFSET) {
            panic!("plan.evicted fails check: {c:?} in {plan:?}");
        }
    }

    // Carry the plan out on a copy: the header still parses, and a pool that validated still
    // validates, now holding the new message.
    let payload: Vec<u8> = (0..payload_len).map(|i| i as u8).collect();
    let mut pool = MemPool::from_bytes(bytes.to_vec());
    let carried = pool
        .append(7, &payload)
        .expect("the same plan succeeds again");
    assert_eq!(carried, plan, "planning is deterministic");
    let after = match Snapshot::new(&pool.bytes) {
        Ok(s) => s,
        Err(e) => panic!("header no longer parses after an append: {e:?} for {plan:?}"),
    };
    assert_eq!(after.published().unwrap().state, plan.after);
    let header = Header::parse(&pool.bytes, pool.bytes.len() as u64).unwrap();
    assert!(
        !header.update_interrupted(),
        "an append leaves the generation even"
    );
    if valid {
        let report = plasmite_core::validate(&after);
        assert!(
            report.is_ok(),
            "append broke a valid pool: {:?} for {plan:?}",
            report.issue
        );
        let f = locate(&after, plan.seq)
            .expect("a valid pool locates")
            .expect("the new message is retained");
        assert_eq!(after.payload(&f), Some(&payload[..]));
        assert_eq!(f.head.crc, payload_crc(&payload));
    }
}

struct Walk {
    delivered: u64,
    error: Option<plasmite_core::Corrupt>,
}

fn walk(snap: &Snapshot<'_>, mut cursor: Cursor) -> Walk {
    let ring_size = snap.geometry().ring_size;
    let bound = ring_size / 64 + 10;
    let mut out = Walk {
        delivered: 0,
        error: None,
    };
    let mut prev: Option<u64> = None;
    for _ in 0..bound {
        match cursor.next(snap) {
            Ok(Step::Message(f)) => {
                if let Some(p) = prev {
                    assert_eq!(
                        Some(f.seq()),
                        p.checked_add(1),
                        "cursor sequences are contiguous"
                    );
                }
                prev = Some(f.seq());
                assert_eq!(cursor.expected_seq(), f.seq().saturating_add(1));
                assert!(f.next < ring_size);
                let payload = snap
                    .payload(&f)
                    .expect("a delivered frame's payload is in the file");
                assert_eq!(payload.len(), f.head.payload_len as usize);
                let _ = f.verify_crc(snap);
                out.delivered += 1;
            }
            Ok(Step::CaughtUp) => return out,
            // A seek to a sequence older than the oldest reports the gap once, then resyncs.
            Ok(Step::Gap { .. }) => prev = None,
            Err(c) => {
                out.error = Some(c);
                return out;
            }
        }
    }
    panic!("cursor did not finish within {bound} steps on a ring of {ring_size} bytes");
}
