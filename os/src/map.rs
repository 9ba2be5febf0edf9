//! The shared mapping of a pool file — the only module of this workspace with `unsafe`.
//!
//! Role: maps a whole pool file and gives the rest of the crate bounds-checked, atomic access
//! to its bytes: 8-byte words for the header and frame words, byte-and-word copies for payloads.
//! Other processes map the same file and read and write it concurrently.
//!
//! # Safety
//! Every `unsafe` block below relies on these rules:
//! 1. **Live mapping.** `base` points to a mapping of exactly `len` bytes that stays mapped for as
//!    long as the [`SharedMap`] exists: memmap2's `MmapRaw` unmaps only on drop, and we never
//!    remap.
//! 2. **Bounds and alignment.** A pointer is formed only after checking `off + size ≤ len`, and
//!    for a word also `off % size == 0`. The mapping starts on a page boundary, so a file offset's
//!    alignment is the address's alignment.
//! 3. **Atomics only.** Every access to mapped bytes is an atomic load or store (`AtomicU64` for
//!    aligned words, `AtomicU32` for the wake words, `AtomicU8` for the bytes around them). Other
//!    processes may write any byte at any time; same-width atomic accesses make that race-free
//!    in Rust's model. No `&`/`&mut` to plain bytes of the mapping is ever created. On a
//!    read-only mapping only `Relaxed` loads are made (the only kind Rust guarantees on
//!    read-only memory), followed by a fence where an ordering is needed.
//!    Limit, stated plainly: accesses of different widths to the same bytes (a byte-wise payload
//!    tail or commit marker against a later frame's word stores) are outside Rust's memory
//!    model; they rely on the hardware's single-copy atomicity of aligned accesses, and readers
//!    re-validate whatever such a race could produce.
//! 4. **Writable only when mapped writable.** Stores and read-modify-writes go through
//!    [`SharedMap::store_u64`] and friends, which refuse on a read-only mapping (a store there
//!    would fault). No reference to an atomic in the mapping ever leaves this module.
//! 5. **Fixed size.** Pool files never change size after creation, and `open` checks the header's
//!    `file_size` against the file. A hostile process that truncates the file can still make an
//!    access fault (`SIGBUS`); that is outside what a mapping can defend against.
//!
//! # Concurrency rules
//! - Writers hold the pool's exclusive `flock` for the whole append and perform the core's ordered
//!   stores (`plasmite_core::plan::Store`): plain stores are `Relaxed`, publications `Release`, an
//!   announce is a `Release` store followed by a `Release` fence.
//! - Readers copy with atomic loads, then re-validate (the core's cursor re-reads the published
//!   state; payload copies re-check retention and CRC): copy-then-revalidate, never references
//!   into the mapping.
//!
//! Spec: `spec/FORMAT.md` §5.3 (store order), §6 (readers).

use std::fs::File;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering, fence};

/// A pool file mapped shared, accessed only atomically.
#[derive(Debug)]
pub struct SharedMap {
    map: memmap2::MmapRaw,
    len: usize,
    writable: bool,
}

impl SharedMap {
    /// `mmap(MAP_SHARED)` of the whole file, read-write or read-only.
    pub fn new(file: &File, writable: bool) -> std::io::Result<SharedMap> {
        let opts = memmap2::MmapOptions::new();
        let map = if writable {
            opts.map_raw(file)?
        } else {
            opts.map_raw_read_only(file)?
        };
        let len = map.len();
        Ok(SharedMap { map, len, writable })
    }

    /// Whether stores are allowed.
    pub fn writable(&self) -> bool {
        self.writable
    }

    fn word(&self, off: u64) -> Option<&AtomicU64> {
        let off = usize::try_from(off).ok()?;
        if off % 8 != 0 || off.checked_add(8)? > self.len {
            return None;
        }
        // SAFETY: rule 1 (live mapping), rule 2 (in bounds, 8-aligned: checked above), rule 3
        // (the only access is through this atomic).
        Some(unsafe { &*self.map.as_ptr().add(off).cast::<AtomicU64>() })
    }

    fn word32(&self, off: u64) -> Option<&AtomicU32> {
        let off = usize::try_from(off).ok()?;
        if off % 4 != 0 || off.checked_add(4)? > self.len {
            return None;
        }
        // SAFETY: rules 1, 2 (in bounds, 4-aligned: checked above) and 3.
        Some(unsafe { &*self.map.as_ptr().add(off).cast::<AtomicU32>() })
    }

    fn byte(&self, off: usize) -> Option<&AtomicU8> {
        if off >= self.len {
            return None;
        }
        // SAFETY: rules 1, 2 (in bounds: checked above; a byte needs no alignment) and 3.
        Some(unsafe { &*self.map.as_ptr().add(off).cast::<AtomicU8>() })
    }

    /// Atomic load of the 8-aligned word at `off` (relaxed plus a fence on read-only maps).
    pub fn load_u64(&self, off: u64, order: Ordering) -> Option<u64> {
        self.word(off).map(|w| {
            ordered_load(
                self.writable,
                order,
                || w.load(Ordering::Relaxed),
                || w.load(order),
            )
        })
    }

    /// Atomic store of the 8-aligned word at `off` (refused on a read-only mapping).
    pub fn store_u64(&self, off: u64, value: u64, order: Ordering) -> Option<()> {
        if !self.writable {
            return None;
        }
        self.word(off).map(|w| w.store(value, order))
    }

    /// Atomic load of the 4-aligned 32-bit word at `off` (the wake words).
    pub fn load_u32(&self, off: u64, order: Ordering) -> Option<u32> {
        self.word32(off).map(|w| {
            ordered_load(
                self.writable,
                order,
                || w.load(Ordering::Relaxed),
                || w.load(order),
            )
        })
    }

    /// Atomic add to the 4-aligned word at `off`, returning the old value (refused on a
    /// read-only mapping).
    pub fn fetch_add_u32(&self, off: u64, value: u32, order: Ordering) -> Option<u32> {
        if !self.writable {
            return None;
        }
        self.word32(off).map(|w| w.fetch_add(value, order))
    }

    /// Atomic swap of the 4-aligned word at `off`, returning the old value (refused on a
    /// read-only mapping).
    pub fn swap_u32(&self, off: u64, value: u32, order: Ordering) -> Option<u32> {
        if !self.writable {
            return None;
        }
        self.word32(off).map(|w| w.swap(value, order))
    }

    /// `futex(FUTEX_WAIT)` on the 4-aligned word at `off` — shared, not process-private, so
    /// writers in other processes can wake it: sleeps while the word equals `expected`, at most
    /// `timeout`. Returns early on a wake-up, a changed word, a signal or the timeout alike; the
    /// caller re-checks what it waits for. Works on read-only mappings too.
    pub fn futex_wait(&self, off: u64, expected: u32, timeout: std::time::Duration) {
        let Some(word) = self.word32(off) else {
            return;
        };
        let ts = rustix::thread::futex::Timespec {
            tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: timeout.subsec_nanos().into(),
        };
        // Every outcome (woken, EAGAIN, ETIMEDOUT, EINTR) means "look again".
        let _ = rustix::thread::futex::wait(
            word,
            rustix::thread::futex::Flags::empty(),
            expected,
            Some(&ts),
        );
    }

    /// `futex(FUTEX_WAKE)` of every waiter on the 4-aligned word at `off`, in any process.
    pub fn futex_wake_all(&self, off: u64) {
        if let Some(word) = self.word32(off) {
            // A failed wake only delays waiters until their bounded timeout.
            let _ = rustix::thread::futex::wake(
                word,
                rustix::thread::futex::Flags::empty(),
                i32::MAX as u32,
            );
        }
    }

    /// The aligned words covering `[start, start + 8·n)`, as atomics.
    fn words(&self, start: usize, n: usize) -> Option<&[AtomicU64]> {
        let end = n.checked_mul(8)?.checked_add(start)?;
        if !start.is_multiple_of(8) || end > self.len {
            return None;
        }
        // SAFETY: rule 1 (live mapping), rule 2 (in bounds and 8-aligned: checked above), rule
        // 3 (the only access is through these atomics).
        Some(unsafe {
            std::slice::from_raw_parts(self.map.as_ptr().add(start).cast::<AtomicU64>(), n)
        })
    }

    /// Splits `[start, end)` into a byte-wise head up to 8-alignment, whole words, and a
    /// byte-wise tail: `(head_len, words)`.
    fn split(start: usize, end: usize) -> (usize, usize) {
        let head = (8 - start % 8) % 8;
        let head = head.min(end - start);
        (head, (end - start - head) / 8)
    }

    /// Copies `dst.len()` bytes from `off` with atomic loads (words where aligned). `false`
    /// when the range is outside the mapping (nothing trusted is copied then).
    pub fn copy_out(&self, off: u64, dst: &mut [u8]) -> bool {
        let Ok(start) = usize::try_from(off) else {
            return false;
        };
        let Some(end) = start.checked_add(dst.len()).filter(|&e| e <= self.len) else {
            return false;
        };
        let (head, n) = Self::split(start, end);
        let (dst_head, rest) = dst.split_at_mut(head);
        let (dst_words, dst_tail) = rest.split_at_mut(n * 8);
        for (i, d) in dst_head.iter_mut().enumerate() {
            match self.byte(start + i) {
                Some(b) => *d = b.load(Ordering::Relaxed),
                None => return false,
            }
        }
        let Some(words) = self.words(start + head, n) else {
            return false;
        };
        for (w, d) in words.iter().zip(dst_words.chunks_exact_mut(8)) {
            d.copy_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
        }
        let tail_at = start + head + n * 8;
        for (i, d) in dst_tail.iter_mut().enumerate() {
            match self.byte(tail_at + i) {
                Some(b) => *d = b.load(Ordering::Relaxed),
                None => return false,
            }
        }
        true
    }

    /// Stores `src` at `off` with relaxed atomic stores (words where aligned). Refused on a
    /// read-only mapping or outside it.
    pub fn copy_in(&self, off: u64, src: &[u8]) -> Option<()> {
        if !self.writable {
            return None;
        }
        let start = usize::try_from(off).ok()?;
        let end = start.checked_add(src.len()).filter(|&e| e <= self.len)?;
        let (head, n) = Self::split(start, end);
        let (src_head, rest) = src.split_at(head);
        let (src_words, src_tail) = rest.split_at(n * 8);
        for (i, &s) in src_head.iter().enumerate() {
            self.byte(start + i)?.store(s, Ordering::Relaxed);
        }
        let words = self.words(start + head, n)?;
        for (w, s) in words.iter().zip(src_words.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(s);
            w.store(u64::from_le_bytes(b), Ordering::Relaxed);
        }
        let tail_at = start + head + n * 8;
        for (i, &s) in src_tail.iter().enumerate() {
            self.byte(tail_at + i)?.store(s, Ordering::Relaxed);
        }
        Some(())
    }

    /// `msync(MS_SYNC)` of the pages covering `[off, off + len)`.
    pub fn flush(&self, off: usize, len: usize) -> std::io::Result<()> {
        self.map.flush_range(off, len)
    }
}

/// An atomic load with `order`. Rust guarantees only `Relaxed` loads on read-only memory
/// (rule 3), so a read-only mapping loads relaxed and then fences with the same strength.
fn ordered_load<T>(
    writable: bool,
    order: Ordering,
    relaxed: impl FnOnce() -> T,
    ordered: impl FnOnce() -> T,
) -> T {
    if writable || order == Ordering::Relaxed {
        return ordered();
    }
    let v = relaxed();
    fence(if order == Ordering::SeqCst {
        Ordering::SeqCst
    } else {
        Ordering::Acquire
    });
    v
}

/// A release fence (after an announce store, see the concurrency rules).
pub fn release_fence() {
    fence(Ordering::Release);
}

/// An acquire fence (before re-checking a state word after copying).
pub fn acquire_fence() {
    fence(Ordering::Acquire);
}
