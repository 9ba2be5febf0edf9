//! `pls completion SHELL`.
use crate::args::Matches;
use crate::ui::Ui;
use plasmite_os::{Error, ErrorKind};

/// Runs `completion`.
pub fn run(_m: &Matches, _ui: &Ui) -> Result<u8, Error> {
    Err(Error::new(ErrorKind::Usage, "completion is not built yet"))
}
