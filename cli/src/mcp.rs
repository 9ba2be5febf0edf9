//! `pls mcp`.
use crate::args::Matches;
use crate::ui::Ui;
use plasmite_os::{Error, ErrorKind};
use std::path::Path;

/// Runs `mcp`.
pub fn run(_m: &Matches, _ui: &Ui, _dir: &Path) -> Result<u8, Error> {
    Err(Error::new(ErrorKind::Usage, "mcp is not built yet"))
}
