//! `pls`: the plasmite pool command line (see the `plasmite` library).
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    plasmite::main("pls")
}
