//! `conformance`: runs conformance manifests (`spec/CONFORMANCE.md`) against one surface of
//! plasmite — the Rust API (`api`), the command line (`cli`), the HTTP server (`http`), or the
//! command line on URL pool references through a server (`cli-remote`).
//!
//! Role: the Rust-side runner of the suite that every surface runs (the C, Python, Node and Go
//! runners live with their bindings). It reads a manifest, runs its steps in order through the
//! chosen surface and compares each outcome with the step's expectations; it prints one line per
//! failed or unsupported step and the summary `conformance: N passed, M failed, K unsupported`.
//!
//! # Invariants
//! - Every step is run and counted: a failed step does not stop the manifest (later steps may
//!   fail because of it; the first failure is the one to read).
//! - An op the surface cannot express is reported `unsupported`, never passed silently.
//! - Exit status: 0 when no step failed, 1 when one did, 2 on a usage or manifest error.
//!
//! Usage: `conformance [--surface api|cli|http|cli-remote] [--list-ops] MANIFEST…`
//! The CLI is `$PLASMITE_BIN` (default: `pls` next to this program's target directory).
//!
//! Spec: `spec/CONFORMANCE.md`.

mod api;
mod cli;
mod http;
mod manifest;
mod surface;

use manifest::Manifest;
use std::path::PathBuf;
use std::process::ExitCode;
use surface::Surface;

fn main() -> ExitCode {
    let mut surface = "api".to_owned();
    let mut files = Vec::new();
    let mut list = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--surface" => surface = args.next().unwrap_or_default(),
            "--list-ops" => list = true,
            "-h" | "--help" => {
                println!("usage: conformance [--surface api|cli|http|cli-remote] MANIFEST…");
                return ExitCode::SUCCESS;
            }
            _ => files.push(PathBuf::from(a)),
        }
    }
    let make = |workdir: &std::path::Path| -> Result<Box<dyn Surface>, String> {
        Ok(match surface.as_str() {
            "api" => Box::new(api::Api::new(workdir)),
            "cli" => Box::new(cli::Cli::new(workdir, None)?),
            "cli-remote" => {
                let server = http::Server::start(workdir)?;
                Box::new(cli::Cli::new(workdir, Some(server))?)
            }
            "http" => Box::new(http::Http::new(workdir)?),
            other => return Err(format!("unknown surface: {other}")),
        })
    };
    if list {
        let dir = std::env::temp_dir().join(format!("plasmite-conf-list-{}", std::process::id()));
        let s = match make(&dir) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("conformance: {e}");
                return ExitCode::from(2);
            }
        };
        for op in manifest::OPS {
            let how = if s.supports(op) {
                "supported"
            } else {
                "unsupported"
            };
            println!("{op} {how}");
        }
        let _ = std::fs::remove_dir_all(dir);
        return ExitCode::SUCCESS;
    }
    if files.is_empty() {
        eprintln!("usage: conformance [--surface api|cli|http|cli-remote] MANIFEST…");
        return ExitCode::from(2);
    }
    let mut failed_any = false;
    for file in &files {
        let m = match Manifest::load(file) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("conformance: {}: {e}", file.display());
                return ExitCode::from(2);
            }
        };
        if let Err(e) = m.reset_workdir() {
            eprintln!("conformance: {}: {e}", file.display());
            return ExitCode::from(2);
        }
        let mut s = match make(&m.workdir) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("conformance: {e}");
                return ExitCode::from(2);
            }
        };
        let tally = m.run(s.as_mut());
        println!(
            "conformance: {} passed, {} failed, {} unsupported ({surface}: {})",
            tally.passed,
            tally.failed,
            tally.unsupported,
            file.display()
        );
        failed_any |= tally.failed > 0;
    }
    if failed_any {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
