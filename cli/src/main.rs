//! `pls`: the plasmite pool command line.
//!
//! Role: parse arguments, run one command, map its error to an exit code. Storage logic lives
//! in `plasmite-os` and `plasmite-core`; this binary only talks to users.
//!
//! # Invariants
//! - Unknown commands are a usage error (exit 2) with a hint, never a panic.
#![forbid(unsafe_code)]

use plasmite_os::core::layout::FORMAT_VERSION;
use std::process::ExitCode;

fn main() -> ExitCode {
    let arg = std::env::args().nth(1);
    match arg.as_deref() {
        None | Some("version" | "--version" | "-V") => {
            println!(
                "pls {} (pool format {FORMAT_VERSION})",
                env!("CARGO_PKG_VERSION")
            );
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!(
                "error: unknown command '{other}'\nhint: this build provides `pls version`; pool commands are not built yet"
            );
            ExitCode::from(2)
        }
    }
}
