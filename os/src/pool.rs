//! A pool file opened for use: create, open, append under the writer lock, get by sequence.
//!
//! Role: composes the format core with the operating system — the mapping ([`crate::map`]), the
//! writer lock (`flock`), the file's creation and validation — behind one `Pool` every interface
//! uses.
//!
//! # Invariants
//! - An append holds `flock(LOCK_EX)` from reading the state to its last store, and performs
//!   exactly the core's ordered stores; nothing else writes the ring or the header.
//! - A message handed out was copied with atomic loads and then re-checked: still retained, CRC
//!   intact when the frame has one. A Corrupt verdict found without the lock is confirmed under
//!   the lock (where the ring cannot move) before it is reported.
//! - A pool opened read-only never stores.
//!
//! Spec: `spec/FORMAT.md` §5.3 (append), §6 (readers), §7 (creation).

use crate::error::{Cause, Error, ErrorKind};
use crate::info::Info;
use crate::map::{SharedMap, acquire_fence, release_fence};
use plasmite_core::frame::payload_crc;
use plasmite_core::header::RingState;
use plasmite_core::layout::{
    HEADER_LEN, JOURNAL_OFFSET, NEWEST_IN_STATE, RING_STATE_OFFSET, STATE_GEN_OFFSET,
    WAITERS_OFFSET, WAKE_OFFSET,
};
use plasmite_core::{
    AppendWrite, Corrupt, FrameRef, Geometry, Header, Order, PoolView, Published, Store, locate,
    plan_append,
};
use rustix::fs::{FlockOperation, flock};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// How a new pool is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreateOptions {
    /// File size in bytes.
    pub size: u64,
    /// Index slots; `None` applies the reference's auto rule.
    pub index_capacity: Option<u64>,
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions {
            size: plasmite_core::layout::DEFAULT_POOL_SIZE,
            index_capacity: None,
        }
    }
}

/// When an append returns relative to the data reaching the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// Return once the message is in the shared mapping (visible to every process; the
    /// operating system writes it back later).
    #[default]
    Fast,
    /// Also `msync` exactly the pages the append wrote before returning.
    Flush,
}

/// What an append assigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    /// Sequence.
    pub seq: u64,
    /// Append time, Unix nanoseconds.
    pub timestamp_ns: u64,
}

/// The current time in Unix nanoseconds (0 before 1970, saturating after 2554).
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A message copied out of a pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Sequence.
    pub seq: u64,
    /// Append time, Unix nanoseconds.
    pub timestamp_ns: u64,
    /// The Lite³ payload.
    pub payload: Vec<u8>,
    /// Ring offset of its frame.
    pub offset: u64,
}

impl Message {
    /// The message as a view (what queries yield).
    pub fn view(&self) -> crate::follow::MessageView<'_> {
        crate::follow::MessageView {
            seq: self.seq,
            timestamp_ns: self.timestamp_ns,
            offset: self.offset,
            payload: &self.payload,
        }
    }

    /// The message in the form the printers take.
    pub fn printed(&self) -> crate::message::Printed<'_> {
        crate::message::Printed {
            seq: self.seq,
            timestamp_ns: self.timestamp_ns,
            payload: &self.payload,
        }
    }
}

/// An open pool.
#[derive(Debug)]
pub struct Pool {
    path: PathBuf,
    file: File,
    map: SharedMap,
    geometry: Geometry,
    /// Serializes lock holders within this process: `flock` locks belong to the open file
    /// description, so two threads of one `Pool` would otherwise both "hold" the writer lock.
    local: Mutex<()>,
}

/// The live view of a mapped pool that the core's algorithms read through.
#[derive(Debug, Clone, Copy)]
pub struct LiveView<'p> {
    map: &'p SharedMap,
    geometry: &'p Geometry,
}

impl PoolView for LiveView<'_> {
    fn geometry(&self) -> &Geometry {
        self.geometry
    }

    /// Reads the ring state like a sequence lock: generation, the five state words (and the
    /// journal when the generation is odd), an acquire fence, the generation again. A changed
    /// generation means a publish ran meanwhile; a state that fails its check may be a v3
    /// writer's half-done update (those writers do not bump the generation): either way, read
    /// again, a bounded number of times. A failure that persists is reported; callers confirm
    /// it under the lock ([`Pool::state`], `get`, followers).
    fn published(&self) -> Result<Published, Corrupt> {
        let word = |off: u64| self.map.load_u64(off, Ordering::Relaxed).unwrap_or(0);
        let state_at = |base: u64| RingState {
            head: word(base),
            tail: word(base + 8),
            tail_next: word(base + 16),
            oldest: word(base + 24),
            newest: word(base + NEWEST_IN_STATE),
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let g1 = self
                .map
                .load_u64(STATE_GEN_OFFSET, Ordering::Acquire)
                .unwrap_or(0);
            let fields = state_at(RING_STATE_OFFSET);
            // The journal only counts while the generation is odd.
            let journal = if g1 % 2 == 1 {
                state_at(JOURNAL_OFFSET)
            } else {
                fields
            };
            acquire_fence();
            let g2 = self
                .map
                .load_u64(STATE_GEN_OFFSET, Ordering::Relaxed)
                .unwrap_or(0);
            let last = attempt >= 64;
            if g1 == g2 || last {
                let published = Published::resolve(fields, g1, journal);
                match published
                    .state
                    .check(self.geometry, published.state_offset())
                {
                    Ok(()) => return Ok(published),
                    Err(c) if last => return Err(c),
                    Err(_) => {}
                }
            }
            std::hint::spin_loop();
        }
    }

    fn read(&self, off: u64, dst: &mut [u8]) -> bool {
        self.map.copy_out(off, dst)
    }
}

/// Holds the in-process mutex and a `flock` on the pool file until dropped (`flock(fd, LOCK_UN)`,
/// then the mutex).
pub(crate) struct FileLock<'f> {
    file: &'f File,
    _local: MutexGuard<'f, ()>,
}

impl<'f> FileLock<'f> {
    /// `flock(fd, LOCK_EX)` — blocks until no other process holds the pool's writer lock.
    fn exclusive(pool: &'f Pool) -> Result<FileLock<'f>, Error> {
        Self::acquire(pool, FlockOperation::LockExclusive)
    }

    /// `flock(fd, LOCK_SH)` — blocks until no writer holds the lock, so the ring cannot move
    /// while it is held (readers use it only to confirm a Corrupt verdict).
    fn shared(pool: &'f Pool) -> Result<FileLock<'f>, Error> {
        Self::acquire(pool, FlockOperation::LockShared)
    }

    fn acquire(pool: &'f Pool, op: FlockOperation) -> Result<FileLock<'f>, Error> {
        // A panic while holding the mutex leaves nothing half-done that the lock protects
        // (every prefix of an append's stores is a valid pool), so poisoning is ignored.
        let local = pool.local.lock().unwrap_or_else(PoisonError::into_inner);
        flock(&pool.file, op)
            .map_err(|e| Error::io(e.into(), "failed to lock pool", &pool.path))?;
        Ok(FileLock {
            file: &pool.file,
            _local: local,
        })
    }
}

impl Drop for FileLock<'_> {
    fn drop(&mut self) {
        // Unlocking cannot meaningfully fail; closing the file would release it anyway.
        let _ = flock(self.file, FlockOperation::Unlock);
    }
}

impl Pool {
    /// Creates a pool file (`mkdir -p` of its parent, `O_CREAT|O_EXCL`): an existing file is
    /// `AlreadyExists` and is left untouched. The whole file is allocated now (`fallocate`), so a
    /// full disk fails here, not as a fault on some later append — except on file systems
    /// without `fallocate`, where the file is sized sparse and a full disk shows later.
    pub fn create(path: &Path, opts: CreateOptions) -> Result<Pool, Error> {
        let geometry = Geometry::new(opts.size, opts.index_capacity)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(e, "failed to create pool directory", parent))?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| Error::io(e, "failed to create pool", path))?;
        let init = move || -> Result<Pool, Error> {
            match rustix::fs::fallocate(
                &file,
                rustix::fs::FallocateFlags::empty(),
                0,
                geometry.file_size,
            ) {
                Ok(()) => {}
                // File systems without fallocate (some NFS, older ZFS): a sparse file is a
                // valid pool; a full disk then shows on a later write instead.
                Err(rustix::io::Errno::OPNOTSUPP) => file
                    .set_len(geometry.file_size)
                    .map_err(|e| Error::io(e, "failed to size pool", path))?,
                Err(e) => {
                    let err = Error::new(
                        ErrorKind::Io,
                        format!("failed to allocate {} bytes: {e}", geometry.file_size),
                    )
                    .with_path(path)
                    .with_hint("Free disk space or create a smaller pool.");
                    return Err(if e == rustix::io::Errno::NOSPC {
                        err.with_cause(Cause::NoSpace)
                    } else {
                        err
                    });
                }
            }
            let mut block = vec![0u8; HEADER_LEN];
            Header::new(geometry).write_to(&mut block)?;
            file.write_all_at(&block, 0)
                .map_err(|e| Error::io(e, "failed to write pool header", path))?;
            Self::map(path, file, geometry, true)
        };
        // Leave nothing half-made behind.
        init().inspect_err(|_| {
            let _ = std::fs::remove_file(path);
        })
    }

    /// Opens an existing pool, read-write when the file allows it, else read-only.
    pub fn open(path: &Path) -> Result<Pool, Error> {
        match OpenOptions::new().read(true).write(true).open(path) {
            Ok(file) => Self::from_file(path, file, true),
            Err(e)
                if e.kind() == std::io::ErrorKind::PermissionDenied
                    || e.kind() == std::io::ErrorKind::ReadOnlyFilesystem =>
            {
                Self::open_read_only(path)
            }
            Err(e) => Err(Error::io(e, "failed to open pool", path)),
        }
    }

    /// Opens an existing pool for reading only (readers need no write permission).
    pub fn open_read_only(path: &Path) -> Result<Pool, Error> {
        let file = File::open(path).map_err(|e| Error::io(e, "failed to open pool", path))?;
        Self::from_file(path, file, false)
    }

    fn from_file(path: &Path, file: File, writable: bool) -> Result<Pool, Error> {
        let len = file
            .metadata()
            .map_err(|e| Error::io(e, "failed to stat pool", path))?
            .len();
        let mut block = vec![0u8; HEADER_LEN.min(usize::try_from(len).unwrap_or(HEADER_LEN))];
        file.read_exact_at(&mut block, 0)
            .map_err(|e| Error::io(e, "failed to read pool header", path))?;
        let header = Header::parse(&block, len).map_err(|e| Error::from(e).with_path(path))?;
        Self::map(path, file, header.geometry, writable)
    }

    fn map(path: &Path, file: File, geometry: Geometry, writable: bool) -> Result<Pool, Error> {
        let map = SharedMap::new(&file, writable)
            .map_err(|e| Error::io(e, "failed to map pool", path))?;
        Ok(Pool {
            path: path.to_owned(),
            file,
            map,
            geometry,
            local: Mutex::new(()),
        })
    }

    /// The pool's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The pool's layout.
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// The largest payload one message may have, as a length (what encoders are given).
    pub fn max_payload_len(&self) -> usize {
        usize::try_from(self.geometry.max_payload()).unwrap_or(usize::MAX)
    }

    /// Whether appends are possible (the file was opened read-write).
    pub fn writable(&self) -> bool {
        self.map.writable()
    }

    /// The view the core's algorithms read through.
    pub fn view(&self) -> LiveView<'_> {
        LiveView {
            map: &self.map,
            geometry: &self.geometry,
        }
    }

    /// The published ring state (bounds, head and tail).
    /// A ring state that keeps failing its check is confirmed under the lock (where no writer
    /// is midway through an update) before it is reported Corrupt.
    pub fn state(&self) -> Result<RingState, Error> {
        match self.state_now() {
            Err(e) if e.kind() == ErrorKind::Corrupt => {
                let _lock = FileLock::shared(self)?;
                self.state_now()
            }
            other => other,
        }
    }

    /// The published ring state as read now, unconfirmed (for callers that hold the lock or
    /// confirm themselves).
    pub(crate) fn state_now(&self) -> Result<RingState, Error> {
        Ok(self.view().published().map_err(|c| self.corrupt(c))?.state)
    }

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

    /// The message with sequence `seq`: NotFound (naming the retained range) when it is not
    /// retained; Corrupt with the frame's offset when its frame or payload is damaged.
    pub fn get(&self, seq: u64) -> Result<Message, Error> {
        match self.try_get(seq) {
            Err(e) if e.kind() == ErrorKind::Corrupt => {
                // Without the lock a writer may have been overwriting what we read; under it the
                // ring cannot move, so a second failure is real damage.
                let _lock = FileLock::shared(self)?;
                self.try_get(seq)
            }
            other => other,
        }
    }

    fn try_get(&self, seq: u64) -> Result<Message, Error> {
        let view = self.view();
        let found = locate(&view, seq).map_err(|c| self.corrupt(c).with_seq(seq))?;
        let Some(frame) = found else {
            return Err(self.not_found(seq));
        };
        // Copied with atomic loads; if the message was evicted meanwhile, the copy may be torn
        // (and its CRC fail): re-read the state (which fences) before judging the copy.
        let copied = self.copy_message(&frame);
        if !self.state_now()?.retains(seq) {
            return Err(self.not_found(seq));
        }
        copied
    }

    /// Copies a frame's payload out and checks its CRC.
    pub fn copy_message(&self, frame: &FrameRef) -> Result<Message, Error> {
        let mut payload = Vec::new();
        self.read_into(frame, &mut payload)?;
        Ok(Message {
            seq: frame.seq(),
            timestamp_ns: frame.head.timestamp_ns,
            payload,
            offset: frame.offset,
        })
    }

    /// Copies a frame's payload into `buf` (replacing its contents) and checks its CRC. The
    /// caller re-checks retention afterwards.
    pub fn read_into(&self, frame: &FrameRef, buf: &mut Vec<u8>) -> Result<(), Error> {
        // Only growth is zero-filled; the copy overwrites every byte.
        buf.resize(frame.head.payload_len as usize, 0);
        frame
            .read_payload(&self.view(), buf)
            .map_err(|c| self.corrupt(c).with_seq(frame.seq()))
    }

    /// A Corrupt error for this pool.
    pub(crate) fn corrupt(&self, c: Corrupt) -> Error {
        Error::from(c).with_path(&self.path)
    }

    /// The shared mapping (for followers' waiting).
    pub(crate) fn shared_map(&self) -> &SharedMap {
        &self.map
    }

    /// Holds the lock shared: no writer moves the ring until the guard drops.
    pub(crate) fn lock_shared(&self) -> Result<FileLock<'_>, Error> {
        FileLock::shared(self)
    }

    /// Layout, bounds, utilization and the times of the oldest and newest messages.
    /// A damaged oldest or newest frame is Corrupt (confirmed under the lock).
    pub fn info(&self) -> Result<Info, Error> {
        match self.info_now() {
            Err(e) if e.kind() == ErrorKind::Corrupt => {
                let _lock = FileLock::shared(self)?;
                self.info_now()
            }
            other => other,
        }
    }

    fn info_now(&self) -> Result<Info, Error> {
        let view = self.view();
        let state = self.state_now()?;
        let time_of = |seq: u64| -> Result<Option<u64>, Error> {
            Ok(locate(&view, seq)
                .map_err(|c| self.corrupt(c).with_seq(seq))?
                .map(|f| f.head.timestamp_ns))
        };
        let (oldest_time_ns, newest_time_ns) = if state.is_empty() {
            (None, None)
        } else {
            (time_of(state.oldest)?, time_of(state.newest)?)
        };
        Ok(Info {
            path: self.path.clone(),
            geometry: self.geometry,
            state,
            oldest_time_ns,
            newest_time_ns,
        })
    }

    fn not_found(&self, seq: u64) -> Error {
        let hint = match self.state_now() {
            Ok(s) if !s.is_empty() => {
                format!("The pool holds messages {} to {}.", s.oldest, s.newest)
            }
            _ => "The pool holds no messages.".to_owned(),
        };
        Error::new(ErrorKind::NotFound, "message not found")
            .with_seq(seq)
            .with_path(&self.path)
            .with_hint(hint)
    }
}
