//! `pls tap POOL -- CMD…`.
use crate::args::Matches;
use crate::ui::Ui;
use plasmite_os::{Error, ErrorKind};
use std::path::Path;

/// Runs `tap`.
pub fn run(_m: &Matches, _ui: &Ui, _dir: &Path, _argv: &[String]) -> Result<u8, Error> {
    Err(Error::new(ErrorKind::Usage, "tap is not built yet"))
}
