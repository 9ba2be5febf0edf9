//! `pls`: the plasmite pool command line (see the `plasmite_cli` library).
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    plasmite_cli::main("pls")
}
