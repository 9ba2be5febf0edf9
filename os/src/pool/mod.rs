//! A pool file opened for use: create, open, append under the writer lock, get by sequence.
//!
//! Role: composes the format core with the operating system — the mapping ([`crate::map`]), the
//! writer lock (`flock`), the file's creation and validation — behind one `Pool` every interface
//! uses.
//!
//! The file's creation and mapping, the live view and the lock live here; appending is in
//! `append`, copying messages out and reporting on the pool in `read`.
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

mod append;
mod read;

use crate::error::{Cause, Error, ErrorKind};
use crate::map::{SharedMap, acquire_fence};
use plasmite_core::header::RingState;
use plasmite_core::layout::{
    HEADER_LEN, JOURNAL_OFFSET, NEWEST_IN_STATE, RING_STATE_OFFSET, STATE_GEN_OFFSET,
};
use plasmite_core::{Corrupt, Geometry, Header, PoolView, Published};
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
                // No file system holds a file this large: the request, not the disk, is at
                // fault.
                Err(e @ (rustix::io::Errno::FBIG | rustix::io::Errno::INVAL)) => {
                    return Err(Error::new(
                        ErrorKind::Usage,
                        format!(
                            "a pool of {} bytes is larger than this file system allows ({e})",
                            geometry.file_size
                        ),
                    )
                    .with_path(path)
                    .with_hint("Create a smaller pool."));
                }
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

    /// Opens an existing pool, read-write when the file allows it, else read-only. A missing
    /// file is NotFound "pool not found" ([`Cause::PoolNotFound`]).
    pub fn open(path: &Path) -> Result<Pool, Error> {
        match OpenOptions::new().read(true).write(true).open(path) {
            Ok(file) => Self::from_file(path, file, true),
            Err(e)
                if e.kind() == std::io::ErrorKind::PermissionDenied
                    || e.kind() == std::io::ErrorKind::ReadOnlyFilesystem =>
            {
                Self::open_read_only(path)
            }
            Err(e) => Err(open_error(e, path)),
        }
    }

    /// Opens an existing pool for reading only (readers need no write permission).
    pub fn open_read_only(path: &Path) -> Result<Pool, Error> {
        let file = File::open(path).map_err(|e| open_error(e, path))?;
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
}

/// Why a pool file did not open: a missing one is "pool not found" (every front end words
/// its own hint from the cause), anything else the I/O error.
fn open_error(e: std::io::Error, path: &Path) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        return Error::new(ErrorKind::NotFound, "pool not found")
            .with_path(path)
            .with_cause(Cause::PoolNotFound)
            .with_hint("Create the pool first, or check the pool directory.");
    }
    Error::io(e, "failed to open pool", path)
}
