//! Appending to an open pool: one payload or a batch, under the writer lock, then the wake
//! and the optional flush.
//!
//! Role: performs the core's planned, ordered stores for each message through the shared
//! mapping; the lock, the mapping and the view come from the parent module.
//!
//! # Invariants
//! - An append holds `flock(LOCK_EX)` from reading the state to its last store, and performs
//!   exactly the core's ordered stores; nothing else writes the ring or the header.
//! - A payload's CRC is computed before the lock is taken; the lock is held only for the stores.
//! - Followers are woken and pages flushed only after the lock is released, and only when
//!   something was appended; a flush error names the last sequence appended.
//! - A pool opened read-only never stores.
//!
//! Spec: `spec/FORMAT.md` §5.3 (append), §2.3 (wake).

use super::{Appended, Durability, FileLock, Pool, now_ns};
use crate::error::{Error, ErrorKind};
use crate::map::release_fence;
use plasmite_core::frame::payload_crc;
use plasmite_core::layout::{HEADER_LEN, WAITERS_OFFSET, WAKE_OFFSET};
use plasmite_core::{AppendWrite, Order, PoolView, Store, plan_append};
use std::sync::atomic::Ordering;

impl Pool {
    /// Appends one payload (a Lite³ envelope), stamped with the current time under the lock.
    pub fn append(&self, payload: &[u8], durability: Durability) -> Result<Appended, Error> {
        self.append_with(payload, None, durability)
    }

    /// Appends one payload with an explicit time (imports, replays, tests).
    pub fn append_at(
        &self,
        payload: &[u8],
        timestamp_ns: u64,
        durability: Durability,
    ) -> Result<Appended, Error> {
        self.append_with(payload, Some(timestamp_ns), durability)
    }

    fn append_with(
        &self,
        payload: &[u8],
        timestamp_ns: Option<u64>,
        durability: Durability,
    ) -> Result<Appended, Error> {
        self.check_writable()?;
        // The CRC is computed before taking the lock: it is held only for the stores.
        let crc = payload_crc(payload);
        let mut synced = (durability == Durability::Flush).then(Vec::new);
        let appended = {
            let _lock = FileLock::exclusive(self)?;
            let time = timestamp_ns.unwrap_or_else(now_ns);
            self.append_locked(payload, crc, time, synced.as_mut())
                .map(|seq| Appended {
                    seq,
                    timestamp_ns: time,
                })
        };
        let last = appended.as_ref().ok().map(|a| a.seq);
        self.finish(last, synced, appended)
    }

    fn check_writable(&self) -> Result<(), Error> {
        if self.writable() {
            return Ok(());
        }
        Err(Error::new(ErrorKind::Permission, "pool is open read-only")
            .with_path(&self.path)
            .with_hint("Check the pool file's permissions: appending needs write access."))
    }

    /// Appends `payloads` in order under one acquisition of the writer lock, each stamped with
    /// the current time. Each message is published as it is written, so followers see the
    /// batch arrive. Payloads too large for the pool are refused before anything is written.
    /// On an error the messages appended before it stay appended and are listed in `out`.
    pub fn append_batch<P: AsRef<[u8]>>(
        &self,
        payloads: &[P],
        durability: Durability,
        out: &mut Vec<Appended>,
    ) -> Result<(), Error> {
        self.check_writable()?;
        let max = self.geometry.max_payload();
        if let Some((i, p)) = payloads
            .iter()
            .enumerate()
            .find(|(_, p)| p.as_ref().len() as u64 > max)
        {
            let len = p.as_ref().len();
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "message {} of the batch is {len} bytes; the pool holds at most {max}",
                    i + 1
                ),
            )
            .with_path(&self.path)
            .with_hint(format!(
                "Send messages of at most {max} bytes, or create a larger pool."
            )));
        }
        // CRCs are computed before taking the lock: it is held only for the stores.
        let crcs: Vec<u32> = payloads.iter().map(|p| payload_crc(p.as_ref())).collect();
        let mut synced = (durability == Durability::Flush).then(Vec::new);
        let result = {
            let _lock = FileLock::exclusive(self)?;
            let mut result = Ok(());
            for (payload, &crc) in payloads.iter().zip(&crcs) {
                let time = now_ns();
                match self.append_locked(payload.as_ref(), crc, time, synced.as_mut()) {
                    Ok(seq) => out.push(Appended {
                        seq,
                        timestamp_ns: time,
                    }),
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            result
        };
        let last = out.last().map(|a| a.seq);
        self.finish(last, synced, result)
    }

    /// After the lock is released: wake followers and sync when anything was appended (up to
    /// `last`). An append error wins over a sync error; a sync error names the last sequence
    /// appended, so nobody appends it again.
    fn finish<T>(
        &self,
        last: Option<u64>,
        synced: Option<Vec<(u64, u64)>>,
        result: Result<T, Error>,
    ) -> Result<T, Error> {
        let Some(last) = last else {
            return result;
        };
        self.wake_followers();
        let flushed = synced.map_or(Ok(()), |ranges| self.sync(ranges));
        let value = match (result, &flushed) {
            (Ok(v), _) => v,
            (Err(e), Ok(())) => return Err(e),
            // The append error wins, but the messages before it were not flushed either.
            (Err(e), Err(_)) => {
                let hint = e.hint().map_or_else(String::new, |h| format!("{h} "));
                return Err(e.with_hint(format!(
                    "{hint}Messages up to seq {last} were appended but may not be on disk \
                     (the flush failed too); do not append them again."
                )));
            }
        };
        flushed.map_err(|e| {
            e.with_seq(last).with_hint(format!(
                "Messages up to seq {last} were appended but may not be on disk; do not append them again."
            ))
        })?;
        Ok(value)
    }

    /// One append with the writer lock held: plan on the published state, perform the stores.
    /// Records the touched file ranges in `touched` when durability asks for a sync.
    fn append_locked(
        &self,
        payload: &[u8],
        crc: u32,
        timestamp_ns: u64,
        mut touched: Option<&mut Vec<(u64, u64)>>,
    ) -> Result<u64, Error> {
        let view = self.view();
        let before = view.published().map_err(|c| self.corrupt(c))?;
        let plan = plan_append(&view, before, payload.len() as u64)
            .map_err(|e| Error::from(e).with_path(&self.path))?;
        let write =
            AppendWrite::new(&view, &plan, timestamp_ns, payload, crc).ok_or_else(|| {
                Error::new(ErrorKind::Internal, "payload length changed while planning")
            })?;
        let (stores, n) = write.stores();
        for store in stores.iter().take(n).flatten() {
            self.perform(store)?;
            if let Some(t) = touched.as_deref_mut() {
                t.push(match *store {
                    Store::Bytes { at, bytes } => (at, bytes.len() as u64),
                    Store::Word { at, .. } => (at, 8),
                });
            }
        }
        Ok(plan.seq)
    }

    /// Tells followers in any process that something was published: bump `wake`, and make the
    /// `futex` wake call only when a follower announced it is parked (spec §2.3).
    fn wake_followers(&self) {
        if self
            .map
            .fetch_add_u32(WAKE_OFFSET, 1, Ordering::SeqCst)
            .is_none()
        {
            return;
        }
        if self.map.load_u32(WAITERS_OFFSET, Ordering::SeqCst) != Some(0)
            && self.map.swap_u32(WAITERS_OFFSET, 0, Ordering::SeqCst) != Some(0)
        {
            self.map.futex_wake_all(WAKE_OFFSET);
        }
    }

    /// `msync` of the page ranges an append touched: ring and index first, the header last, so
    /// the header never reaches the disk claiming frames that are not there.
    fn sync(&self, ranges: Vec<(u64, u64)>) -> Result<(), Error> {
        // msync works on whole pages of the system's size; the header is flushed with
        // whatever shares its pages, and that group goes last.
        let page = rustix::param::page_size() as u64;
        let header_pages = (HEADER_LEN as u64).div_ceil(page);
        let mut header = false;
        let mut pages: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
        for (at, len) in ranges {
            let (start, end) = (at / page, (at + len).div_ceil(page));
            if start < header_pages {
                header = true;
            }
            if end > header_pages {
                pages.push((start.max(header_pages), end));
            }
        }
        pages.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(pages.len() + 1);
        for (start, end) in pages {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        if header {
            merged.push((0, header_pages));
        }
        for (start, end) in merged {
            let off = start * page;
            let len = ((end - start) * page).min(self.geometry.file_size.saturating_sub(off));
            self.map
                .flush(off as usize, len as usize)
                .map_err(|e| Error::io(e, "failed to flush pool", &self.path))?;
        }
        Ok(())
    }

    /// Performs one store of the append protocol with its ordering.
    fn perform(&self, store: &Store<'_>) -> Result<(), Error> {
        let done = match *store {
            Store::Bytes { at, bytes } => self.map.copy_in(at, bytes),
            Store::Word {
                at,
                value,
                order: Order::Relaxed,
            } => self.map.store_u64(at, value, Ordering::Relaxed),
            Store::Word {
                at,
                value,
                order: Order::Release,
            } => self.map.store_u64(at, value, Ordering::Release),
            Store::Word {
                at,
                value,
                order: Order::Announce,
            } => {
                let r = self.map.store_u64(at, value, Ordering::Release);
                release_fence();
                r
            }
        };
        done.ok_or_else(|| {
            Error::new(ErrorKind::Internal, "store outside the pool mapping").with_path(&self.path)
        })
    }
}
