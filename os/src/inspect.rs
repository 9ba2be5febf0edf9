//! Read-only inspection of a pool file: open, parse, validate — without mapping or locking.
//!
//! Role: the simplest correct way to look at a pool file from the OS side (a private copy of
//! the bytes), used where a consistent snapshot matters more than zero-copy (diagnostics, tests,
//! tools). Live readers use the mapped pool instead.
//!
//! # Invariants
//! - Never writes to the file.
//!
//! Spec: `spec/FORMAT.md` §2.1 (open), §8 (validation).

use crate::error::Error;
use plasmite_core::{Snapshot, validate};
use std::path::Path;

/// A private copy of a pool file's bytes.
#[derive(Debug, Clone)]
pub struct PoolCopy {
    bytes: Vec<u8>,
}

impl PoolCopy {
    /// Reads the whole file (`read(2)`, no mapping, no lock) and checks its header.
    pub fn read(path: &Path) -> Result<PoolCopy, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(e, "failed to read pool", path))?;
        Snapshot::new(&bytes).map_err(|e| Error::from(e).with_path(path))?;
        Ok(PoolCopy { bytes })
    }

    /// The parsed view of the copy (its header was checked when the copy was made).
    pub fn snapshot(&self) -> Result<Snapshot<'_>, Error> {
        Snapshot::new(&self.bytes).map_err(Error::from)
    }

    /// The validation walk over the copy.
    pub fn validate(&self) -> Result<plasmite_core::Report, Error> {
        Ok(validate(&self.snapshot()?))
    }
}
