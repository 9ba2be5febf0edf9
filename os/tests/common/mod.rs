//! Helpers shared by the os integration tests: scratch directories and new pools.
#![allow(dead_code)]

use plasmite_os::{CreateOptions, Pool};
use std::path::{Path, PathBuf};

/// A fresh, empty directory for one test (`prefix` keeps test files apart).
pub(crate) fn scratch(prefix: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("plasmite-{prefix}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A new pool of `size` bytes with the automatic index.
pub(crate) fn create(path: &Path, size: u64) -> Pool {
    Pool::create(
        path,
        CreateOptions {
            size,
            index_capacity: None,
        },
    )
    .unwrap()
}
