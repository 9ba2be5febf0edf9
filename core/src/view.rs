//! How the core reads a pool it does not own: the [`PoolView`] trait and the in-memory
//! [`Snapshot`].
//!
//! Role: every reading algorithm (cursor, locate, planner, validation) reads through a
//! `PoolView`, which copies bytes out and reports the current ring state. A static byte slice
//! is one view ([`Snapshot`]); a live shared mapping (in the `os` crate) is another, which copies
//! with atomic word loads and re-reads the header generation.
//!
//! # Invariants
//! - A view never hands out references into memory other processes may write: [`PoolView::read`]
//!   copies. Zero-copy access is offered only by [`Snapshot::payload`], whose bytes are immutable
//!   for the borrow.
//! - `read` returning `false` means "outside the file", never a partial copy the caller trusts.
//!
//! Spec: `spec/FORMAT.md` §6 (readers).

use crate::error::{Corrupt, HeaderError};
use crate::header::{Geometry, Header, Published};
use crate::read::FrameRef;

/// Read access to a pool file.
pub trait PoolView {
    /// The pool's fixed layout.
    fn geometry(&self) -> &Geometry;
    /// The current effective ring state, validated against the geometry.
    fn published(&self) -> Result<Published, Corrupt>;
    /// Copies the file bytes `[off, off + dst.len())` into `dst`; `false` when that range is
    /// not inside the file.
    fn read(&self, off: u64, dst: &mut [u8]) -> bool;
}

/// A pool held in a byte slice that nobody modifies while it is borrowed.
#[derive(Clone, Copy, Debug)]
pub struct Snapshot<'a> {
    header: Header,
    bytes: &'a [u8],
}

impl<'a> Snapshot<'a> {
    /// Parses the header of a whole pool file held in `bytes`.
    pub fn new(bytes: &'a [u8]) -> Result<Snapshot<'a>, HeaderError> {
        let header = Header::parse(bytes, bytes.len() as u64)?;
        Ok(Snapshot { header, bytes })
    }

    /// The validated header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The whole file.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The payload of a frame found in this snapshot, borrowed from the file bytes.
    pub fn payload(&self, frame: &FrameRef) -> Option<&'a [u8]> {
        let start = usize::try_from(frame.payload_file_offset(&self.header.geometry)).ok()?;
        let end = start.checked_add(usize::try_from(frame.head.payload_len).ok()?)?;
        self.bytes.get(start..end)
    }
}

impl PoolView for Snapshot<'_> {
    fn geometry(&self) -> &Geometry {
        &self.header.geometry
    }

    fn published(&self) -> Result<Published, Corrupt> {
        // Validated by `Header::parse`; the bytes cannot change under the borrow.
        Ok(self.header.published())
    }

    fn read(&self, off: u64, dst: &mut [u8]) -> bool {
        let Ok(start) = usize::try_from(off) else {
            return false;
        };
        let Some(end) = start.checked_add(dst.len()) else {
            return false;
        };
        match self.bytes.get(start..end) {
            Some(src) => {
                dst.copy_from_slice(src);
                true
            }
            None => false,
        }
    }
}
