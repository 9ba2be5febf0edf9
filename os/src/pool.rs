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

use crate::error::{Error, ErrorKind};
use crate::map::{SharedMap, acquire_fence, release_fence};
use plasmite_core::frame::payload_crc;
use plasmite_core::header::{RingState, resolve};
use plasmite_core::layout::{
    HEADER_LEN, JOURNAL_OFFSET, RING_STATE_OFFSET, STATE_GEN_OFFSET, WAKE_OFFSET,
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

/// An open pool.
#[derive(Debug)]
pub struct Pool {
    path: PathBuf,
    file: File,
    map: SharedMap,
    geometry: Geometry,
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

    /// Reads the ring state like a sequence lock: generation, the ten state words, an acquire
    /// fence, the generation again; a changed generation means a publish ran meanwhile, so read
    /// again (bounded; v3 writers do not bump the generation, and the cursor tolerates their
    /// torn states anyway).
    fn published(&self) -> Result<Published, Corrupt> {
        let word = |off: u64| self.map.load_u64(off, Ordering::Relaxed).unwrap_or(0);
        let state_at = |base: u64| RingState {
            head: word(base),
            tail: word(base + 8),
            tail_next: word(base + 16),
            oldest: word(base + 24),
            newest: word(base + 32),
        };
        let mut attempt = 0;
        loop {
            let g1 = self
                .map
                .load_u64(STATE_GEN_OFFSET, Ordering::Acquire)
                .unwrap_or(0);
            let fields = state_at(RING_STATE_OFFSET);
            let journal = state_at(JOURNAL_OFFSET);
            acquire_fence();
            let g2 = self
                .map
                .load_u64(STATE_GEN_OFFSET, Ordering::Relaxed)
                .unwrap_or(0);
            attempt += 1;
            if g1 == g2 || attempt >= 64 {
                let from_journal = plasmite_core::header::journal_effective(&fields, g1, &journal);
                let published = Published {
                    state: resolve(fields, g1, journal),
                    generation: g1,
                    from_journal,
                };
                published
                    .state
                    .check(self.geometry, published.state_offset())?;
                return Ok(published);
            }
            std::hint::spin_loop();
        }
    }

    fn read(&self, off: u64, dst: &mut [u8]) -> bool {
        self.map.copy_out(off, dst)
    }
}

/// Holds a `flock` on the pool file until dropped (`flock(fd, LOCK_UN)`).
struct FileLock<'f>(&'f File);

impl<'f> FileLock<'f> {
    /// `flock(fd, LOCK_EX)` — blocks until no other process holds the pool's writer lock.
    fn exclusive(file: &'f File, path: &Path) -> Result<FileLock<'f>, Error> {
        Self::acquire(file, path, FlockOperation::LockExclusive)
    }

    /// `flock(fd, LOCK_SH)` — blocks until no writer holds the lock, so the ring cannot move
    /// while it is held (readers use it only to confirm a Corrupt verdict).
    fn shared(file: &'f File, path: &Path) -> Result<FileLock<'f>, Error> {
        Self::acquire(file, path, FlockOperation::LockShared)
    }

    fn acquire(file: &'f File, path: &Path, op: FlockOperation) -> Result<FileLock<'f>, Error> {
        flock(file, op).map_err(|e| {
            let kind = if e == rustix::io::Errno::ACCESS || e == rustix::io::Errno::PERM {
                ErrorKind::Permission
            } else {
                ErrorKind::Io
            };
            Error::new(kind, format!("failed to lock pool: {e}"))
                .with_path(path)
                .with_hint("Check the pool file's permissions.")
        })?;
        Ok(FileLock(file))
    }
}

impl Drop for FileLock<'_> {
    fn drop(&mut self) {
        // Unlocking cannot meaningfully fail; closing the file would release it anyway.
        let _ = flock(self.0, FlockOperation::Unlock);
    }
}

impl Pool {
    /// Creates a pool file (`mkdir -p` of its parent, `O_CREAT|O_EXCL`): an existing file is
    /// `AlreadyExists` and is left untouched. The whole file is allocated now (`fallocate`), so a
    /// full disk fails here, not as a fault on some later append.
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
        let init = || -> Result<(), Error> {
            rustix::fs::fallocate(
                &file,
                rustix::fs::FallocateFlags::empty(),
                0,
                geometry.file_size,
            )
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("failed to allocate {} bytes: {e}", geometry.file_size),
                )
                .with_path(path)
                .with_hint("Free disk space or choose a smaller --size.")
            })?;
            let mut block = vec![0u8; HEADER_LEN];
            Header::new(geometry).write_to(&mut block)?;
            file.write_all_at(&block, 0)
                .map_err(|e| Error::io(e, "failed to write pool header", path))
        };
        if let Err(e) = init() {
            // Leave nothing half-made behind.
            let _ = std::fs::remove_file(path);
            return Err(e);
        }
        Self::map(path, file, geometry, true)
    }

    /// Opens an existing pool, read-write when the file allows it, else read-only.
    pub fn open(path: &Path) -> Result<Pool, Error> {
        match OpenOptions::new().read(true).write(true).open(path) {
            Ok(file) => Self::from_file(path, file, true),
            Err(e)
                if e.kind() == std::io::ErrorKind::PermissionDenied
                    || e.raw_os_error() == Some(30) =>
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
    pub fn state(&self) -> Result<RingState, Error> {
        Ok(self
            .view()
            .published()
            .map_err(|c| Error::from(c).with_path(&self.path))?
            .state)
    }

    /// Appends one payload (a Lite³ envelope) stamped `timestamp_ns`; returns its sequence.
    pub fn append(&self, payload: &[u8], timestamp_ns: u64) -> Result<u64, Error> {
        if !self.writable() {
            return Err(Error::new(ErrorKind::Permission, "pool is open read-only")
                .with_path(&self.path)
                .with_hint("Check the pool file's permissions: appending needs write access."));
        }
        // The CRC is computed before taking the lock: the lock is held only for the stores.
        let crc = payload_crc(payload);
        let _lock = FileLock::exclusive(&self.file, &self.path)?;
        let view = self.view();
        let before = view
            .published()
            .map_err(|c| Error::from(c).with_path(&self.path))?;
        let plan = plan_append(&view, before, payload.len() as u64)
            .map_err(|e| Error::from(e).with_path(&self.path))?;
        let write =
            AppendWrite::new(&view, &plan, timestamp_ns, payload, crc).ok_or_else(|| {
                Error::new(ErrorKind::Internal, "payload length changed while planning")
            })?;
        let (stores, n) = write.stores();
        for store in stores.iter().take(n).flatten() {
            self.perform(store)?;
        }
        if let Some(wake) = self.map.atomic_u32(WAKE_OFFSET) {
            wake.fetch_add(1, Ordering::Release);
        }
        Ok(plan.seq)
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
                let _lock = FileLock::shared(&self.file, &self.path)?;
                self.try_get(seq)
            }
            other => other,
        }
    }

    fn try_get(&self, seq: u64) -> Result<Message, Error> {
        let view = self.view();
        let found =
            locate(&view, seq).map_err(|c| Error::from(c).with_seq(seq).with_path(&self.path))?;
        let Some(frame) = found else {
            return Err(self.not_found(seq));
        };
        let message = self.copy_message(&frame)?;
        // Copied with atomic loads; if the message was evicted meanwhile, the copy may be torn.
        acquire_fence();
        if !self.state()?.retains(seq) {
            return Err(self.not_found(seq));
        }
        Ok(message)
    }

    /// Copies a frame's payload out and checks its CRC.
    pub fn copy_message(&self, frame: &FrameRef) -> Result<Message, Error> {
        let mut payload = vec![0u8; frame.head.payload_len as usize];
        frame
            .read_payload(&self.view(), &mut payload)
            .map_err(|c| Error::from(c).with_seq(frame.seq()).with_path(&self.path))?;
        Ok(Message {
            seq: frame.seq(),
            timestamp_ns: frame.head.timestamp_ns,
            payload,
            offset: frame.offset,
        })
    }

    fn not_found(&self, seq: u64) -> Error {
        let hint = match self.state() {
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
