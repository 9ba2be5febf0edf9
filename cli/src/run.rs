//! The command line's entry point: parse, run one command, map the outcome to an exit code in
//! exactly one place.
//!
//! # Invariants
//! - Every error leaves through `Ui::error` and [`exit_code`]; nothing panics on input.
//! - A closed stdout ends the command quietly with exit 0.
//!
//! Spec: `spec/CLI.md` §1.

use crate::args::{self, Invocation};
use crate::{cmd, evaluator, ui};
use plasmite_os::ErrorKind;
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
            .print(format!("{} {}\n", cmd::PRODUCT, env!("CARGO_PKG_VERSION")).as_bytes())
            .map(|()| 0),
        Invocation::Run(m) => {
            let dir = cmd::pool::pool_dir(global.dir.as_deref());
            cmd::run(&m, &ui, &dir, &argv)
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

/// Writes help text to stderr; a failure to write it changes nothing (the exit code says it).
fn eprint(bytes: &[u8]) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(bytes);
}
