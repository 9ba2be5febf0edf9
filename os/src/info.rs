//! What `pool info` reports: layout, bounds, utilization and the ages of the oldest and newest
//! messages.
//!
//! Role: one [`Info`] value built from a live pool and one JSON shape for it, shared by the CLI
//! (`pool info --json`), the HTTP server and MCP.
//!
//! # Invariants
//! - Utilization follows the format's used-bytes rule (the full state counts the whole ring);
//!   the percentage is `floor(used × 10000 / ring_size) / 100`.
//! - The JSON keys and their nesting are the reference's (`CLI-HTTP-MCP-V0.md` §3.1).
//!
//! Spec: `spec/FORMAT.md` §2.2 (used bytes).

use crate::time::rfc3339;
use plasmite_core::layout::{INDEX_OFFSET, INDEX_SLOT_SIZE};
use plasmite_core::{Geometry, RingState};
use serde_json::{Value, json};
use std::path::PathBuf;

/// A pool's layout and state at one instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    /// The pool file.
    pub path: PathBuf,
    /// Where the index and the ring are.
    pub geometry: Geometry,
    /// The published ring state.
    pub state: RingState,
    /// Append time of the oldest retained message (Unix ns).
    pub oldest_time_ns: Option<u64>,
    /// Append time of the newest message (Unix ns).
    pub newest_time_ns: Option<u64>,
}

impl Info {
    /// `(oldest, newest)` retained sequences; `None` when the pool is empty.
    pub fn bounds(&self) -> Option<(u64, u64)> {
        (!self.state.is_empty()).then_some((self.state.oldest, self.state.newest))
    }

    /// Retained messages (`newest − oldest + 1`, 0 when empty).
    pub fn message_count(&self) -> u64 {
        self.state.count()
    }

    /// Ring bytes in use.
    pub fn used_bytes(&self) -> u64 {
        self.state.used_bytes(self.geometry.ring_size)
    }

    /// Ring bytes free.
    pub fn free_bytes(&self) -> u64 {
        self.geometry.ring_size.saturating_sub(self.used_bytes())
    }

    /// Percentage of the ring in use, with two-decimal granularity (rounded down).
    pub fn used_percent(&self) -> f64 {
        let ring = u128::from(self.geometry.ring_size.max(1));
        let hundredths = u128::from(self.used_bytes()) * 10_000 / ring;
        hundredths as f64 / 100.0
    }

    /// Index bytes (`16 × index_capacity`).
    pub fn index_size_bytes(&self) -> u64 {
        u64::from(self.geometry.index_capacity) * INDEX_SLOT_SIZE
    }

    /// The reference's pool-info JSON, `name` as the user gave it, ages relative to `now_ns`.
    pub fn to_json(&self, name: &str, now_ns: u64) -> Value {
        let bounds = match self.bounds() {
            Some((oldest, newest)) => json!({"oldest": oldest, "newest": newest}),
            None => json!({}),
        };
        let age_ms = |t: Option<u64>| t.map(|t| now_ns.saturating_sub(t) / 1_000_000);
        let time = |t: Option<u64>| t.map(rfc3339);
        let g = &self.geometry;
        json!({
            "bounds": bounds,
            "file_size": g.file_size,
            "index_capacity": g.index_capacity,
            "index_offset": INDEX_OFFSET,
            "index_size_bytes": self.index_size_bytes(),
            "metrics": {
                "age": {
                    "newest_age_ms": age_ms(self.newest_time_ns),
                    "newest_time": time(self.newest_time_ns),
                    "oldest_age_ms": age_ms(self.oldest_time_ns),
                    "oldest_time": time(self.oldest_time_ns),
                },
                "message_count": self.message_count(),
                "seq_span": self.message_count(),
                "utilization": {
                    "free_bytes": self.free_bytes(),
                    "used_bytes": self.used_bytes(),
                    "used_percent": self.used_percent(),
                },
            },
            "name": name,
            "path": self.path.display().to_string(),
            "ring_offset": g.ring_offset,
            "ring_size": g.ring_size,
        })
    }
}
