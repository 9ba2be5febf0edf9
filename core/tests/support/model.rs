//! An in-memory pool that executes the core's append stores, and the model it is checked
//! against. Shared by the integration tests and the stateful fuzz target (included by path),
//! so both drive the very same checks.

#![allow(dead_code, unreachable_pub)]

use plasmite_core::frame::payload_crc;
use plasmite_core::{
    AppendWrite, Cursor, Geometry, Header, PlanError, PoolView, Snapshot, Step, Store, plan_append,
    validate,
};
use std::collections::VecDeque;

/// A pool file held in a `Vec`, written only through the core's ordered stores.
#[derive(Clone, Debug)]
pub struct MemPool {
    pub bytes: Vec<u8>,
}

/// One store, owned (so it can be replayed after the pool it was planned on changes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedStore {
    pub at: u64,
    pub bytes: Vec<u8>,
    /// An aligned 8-byte word store (atomic in the real writer: never torn).
    pub word: bool,
}

impl MemPool {
    pub fn create(
        file_size: u64,
        index_capacity: Option<u64>,
    ) -> Result<MemPool, plasmite_core::LayoutError> {
        let geo = Geometry::new(file_size, index_capacity)?;
        let mut bytes = vec![0u8; usize::try_from(file_size).unwrap()];
        Header::new(geo).write_to(&mut bytes).unwrap();
        Ok(MemPool { bytes })
    }

    pub fn from_bytes(bytes: Vec<u8>) -> MemPool {
        MemPool { bytes }
    }

    pub fn snapshot(&self) -> Snapshot<'_> {
        Snapshot::new(&self.bytes).expect("pool header parses")
    }

    /// Plans an append and returns its stores without performing them.
    pub fn plan_stores(
        &self,
        timestamp_ns: u64,
        payload: &[u8],
    ) -> Result<(plasmite_core::Plan, Vec<OwnedStore>), PlanError> {
        let snap = self.snapshot();
        let before = snap.published().map_err(PlanError::Corrupt)?;
        let plan = plan_append(&snap, before, payload.len() as u64)?;
        let write = AppendWrite::new(&snap, &plan, timestamp_ns, payload, payload_crc(payload))
            .expect("length matches");
        let (stores, n) = write.stores();
        let owned = stores[..n]
            .iter()
            .map(|s| match s.expect("used store") {
                Store::Bytes { at, bytes } => OwnedStore {
                    at,
                    bytes: bytes.to_vec(),
                    word: false,
                },
                Store::Word { at, value, .. } => OwnedStore {
                    at,
                    bytes: value.to_le_bytes().to_vec(),
                    word: true,
                },
            })
            .collect();
        Ok((plan, owned))
    }

    pub fn apply(&mut self, store: &OwnedStore) {
        self.apply_prefix(store, store.bytes.len());
    }

    /// Performs only the first `n` bytes of a store (a writer cut off inside it).
    pub fn apply_prefix(&mut self, store: &OwnedStore, n: usize) {
        let at = usize::try_from(store.at).unwrap();
        self.bytes[at..at + n].copy_from_slice(&store.bytes[..n]);
    }

    /// Appends one message; returns the plan that was carried out.
    pub fn append(
        &mut self,
        timestamp_ns: u64,
        payload: &[u8],
    ) -> Result<plasmite_core::Plan, PlanError> {
        let (plan, stores) = self.plan_stores(timestamp_ns, payload)?;
        for s in &stores {
            self.apply(s);
        }
        Ok(plan)
    }

    /// Every message a reader walking from the oldest sees: (seq, timestamp, payload).
    pub fn read_all(&self) -> Result<Vec<(u64, u64, Vec<u8>)>, plasmite_core::Corrupt> {
        let snap = self.snapshot();
        let state = snap.published()?.state;
        let mut cursor = Cursor::oldest(&state);
        let mut out = Vec::new();
        loop {
            match cursor.next(&snap)? {
                Step::Message(f) => {
                    let mut payload = vec![0u8; f.head.payload_len as usize];
                    f.read_payload(&snap, &mut payload)?;
                    out.push((f.seq(), f.head.timestamp_ns, payload));
                }
                Step::CaughtUp => return Ok(out),
                Step::Gap {
                    first_missing,
                    count,
                } => panic!("gap in a static pool: {first_missing} +{count}"),
            }
        }
    }
}

/// What was appended, in order: the model the pool is checked against.
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// (seq, timestamp, payload) of every message appended and possibly still retained.
    pub messages: VecDeque<(u64, u64, Vec<u8>)>,
    pub newest: u64,
    /// Sum of frame lengths of everything ever appended (for the "no eviction before the ring
    /// fills" rule); saturates.
    pub total_frame_bytes: u64,
}

impl Model {
    pub fn appended(&mut self, seq: u64, timestamp_ns: u64, payload: Vec<u8>) {
        assert_eq!(seq, self.newest + 1, "sequences are contiguous");
        self.newest = seq;
        let len = plasmite_core::frame::frame_len(payload.len() as u64).unwrap();
        self.total_frame_bytes = self.total_frame_bytes.saturating_add(len);
        self.messages.push_back((seq, timestamp_ns, payload));
    }

    /// Checks the pool against the model: bounds, every retained message intact and in order,
    /// capacity accounting, a clean validation. Forgets messages the pool evicted.
    pub fn check(&mut self, pool: &MemPool) {
        let snap = pool.snapshot();
        let state = snap.published().unwrap().state;
        let report = validate(&snap);
        assert!(
            report.is_ok(),
            "validation: {:?} state {:?}",
            report.issue,
            state
        );
        assert_eq!(state.newest, self.newest, "newest is the last appended");
        if self.newest == 0 {
            assert!(state.is_empty());
            return;
        }
        assert!(!state.is_empty(), "the newest message is always retained");
        assert!(state.oldest <= state.newest);
        while self.messages.front().is_some_and(|m| m.0 < state.oldest) {
            self.messages.pop_front();
        }
        assert_eq!(
            self.messages.front().map(|m| m.0),
            Some(state.oldest),
            "oldest is a message the model has"
        );
        let ring = snap.geometry().ring_size;
        if self.total_frame_bytes <= ring {
            assert_eq!(
                state.oldest, 1,
                "nothing is evicted before the ring has been filled once"
            );
        }
        let seen = pool.read_all().expect("retained messages read back");
        assert_eq!(seen.len(), self.messages.len(), "retained count");
        let mut frame_bytes = 0u64;
        for (got, want) in seen.iter().zip(self.messages.iter()) {
            assert_eq!(got, want, "message {} reads back exactly", want.0);
            frame_bytes += plasmite_core::frame::frame_len(want.2.len() as u64).unwrap();
        }
        let used = state.used_bytes(ring);
        assert!(
            frame_bytes <= used,
            "frames ({frame_bytes}) fit in the used region ({used})"
        );
        assert_eq!(report.frames, self.messages.len() as u64);
        assert_eq!(
            report.checksummed,
            self.messages.len() as u64,
            "every frame we write carries a CRC"
        );
    }
}

/// A small deterministic generator (xorshift64*), so seeds reproduce across platforms.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}
