//! `pls`: the plasmite pool command line (also installed as `plasmite`; both binaries call
//! [`main`]).
//!
//! Role: parse arguments, run one command, map its outcome to an exit code in exactly one
//! place. Storage logic lives in `plasmite-os` and `plasmite-core`; this binary only talks to
//! users.
//!
//! # Invariants
//! - Every error leaves through `Ui::error` and [`exit_code`]; nothing panics on input.
//! - A closed stdout ends the command quietly with exit 0.
//!
//! Spec: `spec/CLI.md`.
#![forbid(unsafe_code)]
// A binary: `pub` marks each module's interface to the others, not an exported API.
#![allow(unreachable_pub)]

mod args;
mod completion;
mod doctor;
// clippy's suggestions that need rust-version 1.88 (let chains, `is_multiple_of`) are not
// applied in these modules yet; remove the allowance with them.
#[allow(clippy::collapsible_if, clippy::manual_is_multiple_of)]
mod duplex;
mod evaluator;
#[allow(clippy::collapsible_if, clippy::manual_is_multiple_of)]
mod feed;
mod fetch;
#[allow(clippy::collapsible_if, clippy::manual_is_multiple_of)]
mod follow;
mod mcp;
mod pool;
mod progress;
#[allow(clippy::collapsible_if, clippy::manual_is_multiple_of)]
mod tap;
mod ui;
#[allow(clippy::collapsible_if, clippy::manual_is_multiple_of)]
mod values;

use args::Invocation;
use plasmite_os::{Error, ErrorKind};
use std::process::ExitCode;

/// The exit code of an error kind: its stable number (`ErrorKind::code`, 1–9), the same one
/// the C ABI and the bindings use.
pub fn exit_code(kind: ErrorKind) -> u8 {
    kind.code()
}

/// Runs the command line on this process's arguments; `name` is the binary's own name, used
/// when `argv[0]` does not give one.
pub fn main(name: &str) -> ExitCode {
    let mut args = std::env::args_os();
    args::set_program(args.next().as_deref(), name);
    let argv: Vec<std::ffi::OsString> = args.collect();
    if argv.len() == 1 && argv[0] == evaluator::ARG {
        return ExitCode::from(evaluator::run());
    }
    let (global, invocation) = match args::parse(argv.clone()) {
        Ok(parsed) => parsed,
        Err(e) => {
            ui::Ui::detect(args::Color::Auto).error(&e);
            return ExitCode::from(exit_code(e.kind()));
        }
    };
    let ui = ui::Ui::detect(global.color);
    let argv: Vec<String> = argv
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let result = match invocation {
        Invocation::Help(command) => {
            let text = match command {
                Some(c) => args::command_help(c),
                None => args::overview(),
            };
            ui.print(text.as_bytes()).map(|()| 0)
        }
        Invocation::Overview => {
            eprint(args::overview().as_bytes());
            Ok(exit_code(ErrorKind::Usage))
        }
        Invocation::Incomplete(e, command) => {
            ui.error(&e);
            // A blank line sets the usage apart from the error's labelled lines on a
            // terminal; piped, the error stays the first line, one JSON value.
            let gap = if ui.stderr_tty { "\n" } else { "" };
            eprint(format!("{gap}{}\n", args::usage_line(command)).as_bytes());
            Ok(exit_code(e.kind()))
        }
        Invocation::Version => ui
            .print(format!("{PRODUCT} {}\n", env!("CARGO_PKG_VERSION")).as_bytes())
            .map(|()| 0),
        Invocation::Run(m) => {
            let dir = pool::pool_dir(global.dir.as_deref());
            match m.command.path {
                ["pool", _] => pool::run(&m, &ui, &dir),
                ["feed"] => feed::run(&m, &ui, &dir, &argv),
                ["fetch"] => fetch::run(&m, &ui, &dir),
                ["follow"] => follow::run(&m, &ui, &dir, &argv),
                ["duplex"] => duplex::run(&m, &ui, &dir, &argv),
                ["tap"] => tap::run(&m, &ui, &dir, &argv),
                ["doctor"] => doctor::run(&m, &ui, &dir),
                ["completion"] => completion::run(&m, &ui),
                ["mcp"] => mcp::run(&m, &ui, &dir),
                ["version"] => version(&ui),
                other => Err(Error::new(
                    ErrorKind::Internal,
                    format!("command '{}' has no handler", other.join(" ")),
                )),
            }
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if ui::is_closed(&e) => ExitCode::SUCCESS,
        Err(e) => {
            ui.error(&e);
            ExitCode::from(exit_code(e.kind()))
        }
    }
}

/// The product's name in version output, whichever name the program was run as (scripts
/// compare it with the reference's).
const PRODUCT: &str = "plasmite";

/// `pls version`: text on a terminal, JSON when piped.
fn version(ui: &ui::Ui) -> Result<u8, Error> {
    let v = env!("CARGO_PKG_VERSION");
    if ui.stdout_tty {
        ui.print(format!("{PRODUCT} {v}\n").as_bytes())?;
    } else {
        ui.print(&ui.json(&serde_json::json!({"name": PRODUCT, "version": v})))?;
    }
    Ok(0)
}

/// Writes help text to stderr; a failure to write it changes nothing (the exit code says it).
fn eprint(bytes: &[u8]) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(bytes);
}
